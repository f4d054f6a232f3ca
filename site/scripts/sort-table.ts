/**
 * Sortable grouped tables: a click (or Enter/Space, which a <button> turns
 * into a click) on a column header's button sorts the rows inside every
 * <tbody> by that column's numeric data-value, keeping each group's header
 * row first. The first click puts the better end first (the header's
 * data-better says which end that is), the next reverses it. Without this
 * script the table stays in the order it was built in.
 */

type Direction = 'ascending' | 'descending';

function valueOf(row: HTMLTableRowElement, column: number): number {
  const value = Number(row.cells[column]?.dataset.value);
  // Cells without a number (a missing τ) go last whichever way the column sorts.
  return Number.isFinite(value) ? value : Number.NaN;
}

function sortBy(table: HTMLTableElement, header: HTMLTableCellElement, direction: Direction) {
  const column = header.cellIndex;
  const sign = direction === 'ascending' ? 1 : -1;
  for (const body of table.tBodies) {
    const rows = [...body.rows].filter((row) => row.hasAttribute('data-row'));
    rows.sort((a, b) => {
      const [x, y] = [valueOf(a, column), valueOf(b, column)];
      if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : 1) : -1;
      return sign * (x - y);
    });
    // Appending moves each row to the end in turn; the group header, not among them, stays first.
    for (const row of rows) body.append(row);
  }
  for (const other of table.tHead?.querySelectorAll('th') ?? []) if (other !== header) other.removeAttribute('aria-sort');
  header.setAttribute('aria-sort', direction);
}

export function makeSortable(table: HTMLTableElement) {
  for (const button of table.tHead?.querySelectorAll<HTMLButtonElement>('th > button[data-sort]') ?? []) {
    const header = button.parentElement as HTMLTableCellElement;
    button.addEventListener('click', () => {
      const current = header.getAttribute('aria-sort');
      const first: Direction = header.dataset.better === 'higher' ? 'descending' : 'ascending';
      const next: Direction = current === first ? (first === 'ascending' ? 'descending' : 'ascending') : first;
      sortBy(table, header, next);
    });
  }
  table.dataset.sortable = 'ready';
}

for (const table of document.querySelectorAll<HTMLTableElement>('table[data-sortable]')) makeSortable(table);
