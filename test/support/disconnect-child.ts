/**
 * A stand-in worker for the disconnect tests: it installs the real worker's exitWithParent handler, writes one
 * registered temporary file the way the writers do, reports its path, and then stays alive (only its parent
 * going away should end it). Forked by the tests or by disconnect-parent.ts.
 */
import { writeFileSync } from 'node:fs';
import { claimTemporary } from '../../src/core/temporary-files';
import { exitWithParent } from '../../src/worker/lifecycle';

exitWithParent(() => true, { stopJob: () => undefined, release: () => undefined });
const temporary = claimTemporary(process.argv[2]);
writeFileSync(temporary, 'half of a merged file');
process.send?.({ temporary, pid: process.pid });
setInterval(() => undefined, 60_000);
