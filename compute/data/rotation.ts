/**
 * Rotation of grey images by bilinear sampling, with no imports, so the study's
 * derived sets (derived.ts) and the page's playground use the very same floats.
 */

/** cos and sin of an angle in degrees, exact at multiples of 90° so those rotations move whole pixels. */
function cosSinDegrees(degrees: number): [number, number] {
  const quarterTurns = degrees / 90;
  if (Number.isInteger(quarterTurns)) {
    const exact: [number, number][] = [[1, 0], [0, 1], [-1, 0], [0, -1]];
    return exact[((quarterTurns % 4) + 4) % 4];
  }
  const radians = (degrees * Math.PI) / 180;
  return [Math.cos(radians), Math.sin(radians)];
}

/** Four source offsets and weights per output pixel; offset -1 marks a corner outside the image. */
export interface RotationSampling {
  sourceIndex: Int32Array;
  sourceWeight: Float64Array;
}

/**
 * The sampling pattern of a counter-clockwise rotation (as displayed, rows
 * running down) by `degrees` about the image centre: each output pixel reads
 * the input at the inversely rotated position by bilinear interpolation, and
 * positions outside the image read as 0. The same for every image of a size.
 */
export function rotationSampling(height: number, width: number, degrees: number): RotationSampling {
  const [cos, sin] = cosSinDegrees(degrees);
  const centreX = (width - 1) / 2;
  const centreY = (height - 1) / 2;
  const pixels = height * width;
  const sourceIndex = new Int32Array(pixels * 4);
  const sourceWeight = new Float64Array(pixels * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = x - centreX;
      const dy = y - centreY;
      const sourceX = centreX + cos * dx - sin * dy;
      const sourceY = centreY + sin * dx + cos * dy;
      const x0 = Math.floor(sourceX);
      const y0 = Math.floor(sourceY);
      const fx = sourceX - x0;
      const fy = sourceY - y0;
      const corners: [number, number, number][] = [
        [x0, y0, (1 - fx) * (1 - fy)],
        [x0 + 1, y0, fx * (1 - fy)],
        [x0, y0 + 1, (1 - fx) * fy],
        [x0 + 1, y0 + 1, fx * fy],
      ];
      const slot = (y * width + x) * 4;
      corners.forEach(([cx, cy, weight], corner) => {
        const inside = cx >= 0 && cx < width && cy >= 0 && cy < height && weight !== 0;
        sourceIndex[slot + corner] = inside ? cy * width + cx : -1;
        sourceWeight[slot + corner] = inside ? weight : 0;
      });
    }
  }
  return { sourceIndex, sourceWeight };
}

/** One image (`pixels` floats from `offset` of `source`) sampled by the pattern into `target` at `offset`. */
export function applyRotation(sampling: RotationSampling, source: Float32Array, target: Float32Array, offset: number, pixels: number): void {
  const { sourceIndex, sourceWeight } = sampling;
  for (let p = 0; p < pixels; p++) {
    let value = 0;
    for (let corner = 0; corner < 4; corner++) {
      const from = sourceIndex[p * 4 + corner];
      if (from >= 0) value += sourceWeight[p * 4 + corner] * source[offset + from];
    }
    target[offset + p] = value;
  }
}
