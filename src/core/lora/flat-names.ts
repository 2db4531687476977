/** A module path with every `.` as `_`: how kohya flattens names and how pairing keys compare them. */
export function dotsToUnderscores(path: string): string {
  return path.replace(/\./g, '_');
}
