/**
 * Figure 6: the Kronecker product A ⊗ B of a 2×2 and a 3×3 matrix, drawn so
 * that the 6×6 result reads as a 2×2 grid of blocks, block (i, j) being
 * a_ij·B. This is the structure KFAC gives each layer's Fisher block.
 */
import { topLevel, type Spec } from './common.ts';

export type Matrix = number[][];

/** The fixed example: small integers of both signs so every block looks different. */
export const kroneckerExample: { A: Matrix; B: Matrix } = {
  A: [
    [2, -1],
    [1, 3],
  ],
  B: [
    [1, 2, 0],
    [0, 1, -2],
    [3, 0, 1],
  ],
};

/** (A ⊗ B)[i·q + k][j·r + l] = A[i][j] · B[k][l] for B of size q × r. */
export function kron(A: Matrix, B: Matrix): Matrix {
  const [q, r] = [B.length, B[0].length];
  return Array.from({ length: A.length * q }, (_, row) =>
    // `+ 0` turns a −0 (from a negative times zero) into 0, which prints and compares as plain 0.
    Array.from({ length: A[0].length * r }, (_, col) => A[Math.floor(row / q)][Math.floor(col / r)] * B[row % q][col % r] + 0),
  );
}

const subscript = (n: number) => String(n).replace(/\d/g, (d) => '₀₁₂₃₄₅₆₇₈₉'[Number(d)]);

/** Pixels per matrix cell: big enough for a value and, in the product, a block label. */
const cell = 42;

export function kroneckerProduct(): Spec {
  const { A, B } = kroneckerExample;
  const product = kron(A, B);
  const [q, r] = [B.length, B[0].length];
  const extent = Math.max(...product.flat().map(Math.abs));
  const colour = { field: 'value', type: 'quantitative', legend: null, scale: { domain: [-extent, extent], scheme: 'blueorange' } };

  const cellsOf = (matrix: Matrix, describe: (row: number, col: number) => Record<string, string | number>) =>
    matrix.flatMap((values, row) => values.map((value, col) => ({ row, col, value, ...describe(row, col) })));

  /** One heatmap panel with its numbers written in; `extra` layers are drawn on top. */
  const panel = (name: string, title: string, matrix: Matrix, rows: Record<string, unknown>[], tooltip: Record<string, unknown>[], extra: Record<string, unknown>[] = []) => {
    const [n, m] = [matrix.length, matrix[0].length];
    const x = { type: 'quantitative', axis: null, scale: { domain: [0, m], nice: false, zero: false } };
    const y = { type: 'quantitative', axis: null, scale: { domain: [0, n], nice: false, zero: false, reverse: true } };
    return {
      title,
      width: m * cell,
      height: n * cell,
      layer: [
        {
          name: `${name}_cells`,
          data: { values: rows },
          transform: [
            { calculate: 'datum.col + 1', as: 'col1' },
            { calculate: 'datum.row + 1', as: 'row1' },
            { calculate: 'datum.col + 0.5', as: 'colMid' },
            { calculate: 'datum.row + 0.5', as: 'rowMid' },
          ],
          layer: [
            { mark: { type: 'rect', stroke: 'white', strokeWidth: 1 }, encoding: { x: { field: 'col', ...x }, x2: { field: 'col1' }, y: { field: 'row', ...y }, y2: { field: 'row1' }, color: colour, tooltip } },
            {
              name: `${name}_values`,
              mark: { type: 'text', fontSize: 13 },
              encoding: {
                x: { field: 'colMid', ...x },
                y: { field: 'rowMid', ...y },
                text: { field: 'value', type: 'quantitative' },
                // Dark cells get white numbers.
                color: { condition: { test: `abs(datum.value) > ${0.6 * extent}`, value: 'white' }, value: 'black' },
                tooltip,
              },
            },
          ],
        },
        ...extra.map((layer) => ({ ...layer, encoding: { ...(layer.encoding as object), x: { ...(layer.encoding as { x: object }).x, ...x }, y: { ...(layer.encoding as { y: object }).y, ...y } } })),
      ],
    };
  };

  const aRows = cellsOf(A, (i, j) => ({ name: `a${subscript(i + 1)}${subscript(j + 1)}` }));
  const bRows = cellsOf(B, (k, l) => ({ name: `b${subscript(k + 1)}${subscript(l + 1)}` }));
  const productRows = cellsOf(product, (row, col) => {
    const [i, j, k, l] = [Math.floor(row / q), Math.floor(col / r), row % q, col % r];
    const block = `a${subscript(i + 1)}${subscript(j + 1)}·B`;
    return { block, formula: `a${subscript(i + 1)}${subscript(j + 1)} · b${subscript(k + 1)}${subscript(l + 1)} = ${A[i][j]} · ${B[k][l]}` };
  });
  const blocks = A.flatMap((values, i) =>
    values.map((a, j) => ({ top: i * q, bottom: (i + 1) * q, left: j * r, right: (j + 1) * r, label: `a${subscript(i + 1)}${subscript(j + 1)}·B`, a })),
  );
  const named = [{ field: 'name', title: 'entry' }, { field: 'value', type: 'quantitative', title: 'value' }];

  const description =
    `The Kronecker product of A = [[${A.map((row) => row.join(', ')).join('], [')}]] and B = [[${B.map((row) => row.join(', ')).join('], [')}]]: ` +
    `a ${product.length}×${product[0].length} matrix made of ${A.length}×${A[0].length} blocks, block (i, j) being a_ij·B; for example its top-left block is ${A[0][0]}·B and its bottom-right block ${A[A.length - 1][A[0].length - 1]}·B.`;

  return topLevel(description, {
    hconcat: [
      panel('A', 'A', A, aRows, named),
      panel('B', '⊗  B', B, bRows, named),
      panel('product', '=  A ⊗ B', product, productRows, [{ field: 'block', title: 'block' }, { field: 'formula', title: 'entry' }, { field: 'value', type: 'quantitative', title: 'value' }], [
        {
          name: 'product_blocks',
          data: { values: blocks },
          mark: { type: 'rect', fill: null, stroke: '#222', strokeWidth: 2.5 },
          encoding: { x: { field: 'left' }, x2: { field: 'right' }, y: { field: 'top' }, y2: { field: 'bottom' } },
        },
        {
          name: 'product_labels',
          data: { values: blocks },
          mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 2, fontSize: 10, color: '#222' },
          encoding: { x: { field: 'left' }, y: { field: 'top' }, text: { field: 'label' } },
        },
      ]),
    ],
    spacing: 24,
    resolve: { scale: { color: 'shared' } },
  });
}
