/**
 * NumPy's .npy files (format versions 1–3), the command line's way in and out
 * for arrays: `numpy.save('x.npy', x)` on one side, `numpy.load` on the other.
 * Only C-order arrays of little-endian numbers (and bytes) are read; that is
 * what numpy writes by default.
 */

export class NpyError extends Error {
  override name = 'NpyError';
}

export interface NpyArray {
  shape: number[];
  /** numpy's type string, e.g. '<f4', '<i8', '|u1'. */
  dtype: string;
  /** The values as doubles (int64 beyond 2^53 is refused). */
  values: Float64Array;
}

const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const readers: Record<string, { bytes: number; read: (view: DataView, at: number) => number }> = {
  '<f4': { bytes: 4, read: (view, at) => view.getFloat32(at, true) },
  '<f8': { bytes: 8, read: (view, at) => view.getFloat64(at, true) },
  '|u1': { bytes: 1, read: (view, at) => view.getUint8(at) },
  '|i1': { bytes: 1, read: (view, at) => view.getInt8(at) },
  '<u2': { bytes: 2, read: (view, at) => view.getUint16(at, true) },
  '<i2': { bytes: 2, read: (view, at) => view.getInt16(at, true) },
  '<u4': { bytes: 4, read: (view, at) => view.getUint32(at, true) },
  '<i4': { bytes: 4, read: (view, at) => view.getInt32(at, true) },
  '<i8': { bytes: 8, read: (view, at) => safeInteger(view.getBigInt64(at, true)) },
  '<u8': { bytes: 8, read: (view, at) => safeInteger(view.getBigUint64(at, true)) },
  '|b1': { bytes: 1, read: (view, at) => view.getUint8(at) },
};
// numpy writes '<u1' as '|u1', but accept either spelling of one-byte types.
readers['<u1'] = readers['|u1'];
readers['<i1'] = readers['|i1'];

function safeInteger(value: bigint): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new NpyError(`holds the integer ${value}, beyond what a double represents exactly`);
  return number;
}

/** Parse the bytes of a .npy file; `source` names it in errors. */
export function readNpy(bytes: Uint8Array, source: string): NpyArray {
  const fail = (why: string): never => {
    throw new NpyError(`${source} ${why}; save the array with numpy.save (C order, little-endian numbers).`);
  };
  if (bytes.length < 10 || magic.some((byte, index) => bytes[index] !== byte)) fail('is not a .npy file (it does not start with \\x93NUMPY)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) fail(`has .npy format version ${major}, not 1, 2 or 3`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));
  const dtype = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (dtype === undefined || fortran === undefined || shapeText === undefined) return fail('has a header without descr, fortran_order and shape');
  if (fortran === 'True') fail('is in Fortran order');
  const reader = readers[dtype];
  if (!reader) return fail(`holds numbers of type ${dtype}, which this reader does not know (it reads little-endian floats, ints, unsigned ints and bools)`);
  const shape = shapeText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(Number);
  if (shape.some((size) => !Number.isInteger(size) || size < 0)) fail(`has an unreadable shape (${shapeText})`);
  const count = shape.reduce((product, size) => product * size, 1);
  const dataStart = headerStart + headerLength;
  if (bytes.length < dataStart + count * reader.bytes) fail(`is truncated (${bytes.length} bytes, ${dataStart + count * reader.bytes} expected for shape [${shape.join(', ')}])`);
  const values = new Float64Array(count);
  try {
    for (let index = 0; index < count; index++) values[index] = reader.read(view, dataStart + index * reader.bytes);
  } catch (error) {
    fail((error as Error).message);
  }
  return { shape, dtype, values };
}

/** A float32 C-order .npy file (format 1.0) holding `values` in `shape`. */
export function writeNpy(values: Float32Array, shape: number[]): Uint8Array {
  const count = shape.reduce((product, size) => product * size, 1);
  if (count !== values.length) throw new Error(`Shape [${shape.join(', ')}] holds ${count} values, but ${values.length} were given.`);
  const shapeText = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shapeText}), }`;
  // numpy pads the header with spaces and a newline so the data starts on a multiple of 64 bytes.
  const unpadded = 10 + header.length + 1;
  header += `${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const bytes = new Uint8Array(10 + header.length + values.length * 4);
  bytes.set(magic, 0);
  bytes[6] = 1;
  bytes[7] = 0;
  const view = new DataView(bytes.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
  values.forEach((value, index) => view.setFloat32(10 + header.length + 4 * index, value, true));
  return bytes;
}
