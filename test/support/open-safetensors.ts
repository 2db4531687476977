/**
 * Opens one .safetensors file and prints `opened` or the reader's one-line error: run as another user
 * (safetensors-malformed.test.ts checks a permission error as "nobody" when the tests run as root).
 * Usage: node --import tsx test/support/open-safetensors.ts FILE
 */
import { SafetensorsFile } from '../../src/core/safetensors/reader';

SafetensorsFile.open(process.argv[2]).then(
  (file) => file.close().then(() => console.log('opened')),
  (error: Error) => console.log(error.message),
);
