/** The process that hosts a worker, for the test that SIGKILLs it: forks disconnect-child.ts and relays its report. */
import { fork } from 'node:child_process';
import path from 'node:path';

const child = fork(path.join(__dirname, 'disconnect-child.ts'), [process.argv[2]], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
child.on('message', (message) => process.send?.(message));
setInterval(() => undefined, 60_000);
