/**
 * Contour lines of a surface sampled on a rectangular grid, by marching
 * squares with linear interpolation along cell edges. Vega-Lite has no
 * contour transform, so the charts compute the lines here and draw them as
 * ordinary `line` marks.
 *
 * Grid layout (as the landscape artifact): values[j·xs.length + i] is the
 * value at (xs[i], ys[j]).
 */

export interface ContourPoint {
  x: number;
  y: number;
}

/** One connected piece of a level set; a closed loop repeats its first point at the end. */
export interface ContourLine {
  level: number;
  points: ContourPoint[];
  closed: boolean;
}

/** Every polyline where the surface crosses `level`. Cells with a non-finite corner are skipped. */
export function contourLines(values: readonly number[], xs: readonly number[], ys: readonly number[], level: number): ContourLine[] {
  const nx = xs.length;
  const ny = ys.length;
  if (values.length !== nx * ny) throw new Error(`contourLines: ${nx} × ${ny} grid but ${values.length} values.`);
  const at = (i: number, j: number) => values[j * nx + i];
  // A crossing is identified by the grid edge it lies on, so that the two
  // cells sharing an edge agree on the point exactly and segments can be
  // chained by key instead of by comparing floats.
  const hKey = (i: number, j: number) => `h${i},${j}`; // edge (i,j)–(i+1,j)
  const vKey = (i: number, j: number) => `v${i},${j}`; // edge (i,j)–(i,j+1)
  const points = new Map<string, ContourPoint>();
  const crossing = (key: string, x0: number, y0: number, v0: number, x1: number, y1: number, v1: number) => {
    if (!points.has(key)) {
      const t = (level - v0) / (v1 - v0);
      points.set(key, { x: x0 + t * (x1 - x0), y: y0 + t * (y1 - y0) });
    }
    return key;
  };
  const neighbours = new Map<string, string[]>();
  const link = (a: string, b: string) => {
    for (const [from, to] of [[a, b], [b, a]]) {
      const list = neighbours.get(from) ?? [];
      list.push(to);
      neighbours.set(from, list);
    }
  };

  for (let j = 0; j < ny - 1; j++) {
    for (let i = 0; i < nx - 1; i++) {
      const [v00, v10, v11, v01] = [at(i, j), at(i + 1, j), at(i + 1, j + 1), at(i, j + 1)];
      if (![v00, v10, v11, v01].every(Number.isFinite)) continue;
      const [a00, a10, a11, a01] = [v00, v10, v11, v01].map((v) => v >= level);
      // Edges in order bottom, right, top, left; a crossing where the two ends disagree.
      const bottom = a00 !== a10 ? crossing(hKey(i, j), xs[i], ys[j], v00, xs[i + 1], ys[j], v10) : null;
      const right = a10 !== a11 ? crossing(vKey(i + 1, j), xs[i + 1], ys[j], v10, xs[i + 1], ys[j + 1], v11) : null;
      const top = a01 !== a11 ? crossing(hKey(i, j + 1), xs[i], ys[j + 1], v01, xs[i + 1], ys[j + 1], v11) : null;
      const left = a00 !== a01 ? crossing(vKey(i, j), xs[i], ys[j], v00, xs[i], ys[j + 1], v01) : null;
      const found = [bottom, right, top, left].filter((key): key is string => key !== null);
      if (found.length === 2) link(found[0], found[1]);
      else if (found.length === 4) {
        // Saddle: opposite corners agree. The cell centre (mean of corners)
        // decides which diagonal pair is connected through the middle; the
        // lines then cut off the other two corners.
        const centreAbove = (v00 + v10 + v11 + v01) / 4 >= level;
        if (centreAbove === a00) {
          link(bottom!, right!); // corner (i+1, j) cut off
          link(top!, left!); // corner (i, j+1) cut off
        } else {
          link(left!, bottom!);
          link(right!, top!);
        }
      }
    }
  }

  // Each crossing has one or two neighbours: walk chains from the open ends
  // first, then whatever is left is made of closed loops.
  const used = new Set<string>();
  const lines: ContourLine[] = [];
  const walk = (start: string) => {
    const keys = [start];
    used.add(start);
    for (;;) {
      const next = (neighbours.get(keys[keys.length - 1]) ?? []).find((key) => !used.has(key));
      if (next === undefined) break;
      used.add(next);
      keys.push(next);
    }
    const closed = keys.length > 2 && (neighbours.get(keys[keys.length - 1]) ?? []).includes(start);
    if (closed) keys.push(start);
    lines.push({ level, closed, points: keys.map((key) => points.get(key)!) });
  };
  for (const [key, list] of neighbours) if (list.length === 1 && !used.has(key)) walk(key);
  for (const key of neighbours.keys()) if (!used.has(key)) walk(key);
  return lines;
}

/** Rows for a Vega-Lite `line` mark: one `path` per polyline (for `detail`, made unique by `prefix`), `order` along it. */
export function contourRows(values: readonly number[], xs: readonly number[], ys: readonly number[], levels: readonly number[], prefix = '') {
  return levels.flatMap((level, l) =>
    contourLines(values, xs, ys, level).flatMap((line, k) => line.points.map((point, order) => ({ level, path: `${prefix}${l}-${k}`, order, x: point.x, y: point.y }))),
  );
}
