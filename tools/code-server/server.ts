/**
 * Start and stop code-server (VS Code 1.100.3 served to a browser) for screenshots and extension tests on
 * machines where no VS Code/Electron binary can be downloaded. Install it first with tools/code-server/install.sh.
 *
 *   const server = await startCodeServer({ settings: { 'workbench.colorTheme': 'Default Dark Modern' } });
 *   await server.installExtension('ziplora-vscode.vsix');   // before the first page is opened
 *   await page.goto(server.folderUrl('/tmp/workspace'));
 *   …
 *   await server.stop();                                     // kills it and removes its temp folder
 *
 * Everything it writes (user data, extensions, logs, HOME, config.yaml) is in one temp folder unless
 * userDataDir/extensionsDir are given. It binds 127.0.0.1 on a free port with --auth none: only local processes
 * can reach it.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Root of tools/code-server (this file's folder). */
export const CODE_SERVER_DIR = __dirname;
/** code-server's entry script (node_modules/.bin/code-server points at it). */
export const CODE_SERVER_ENTRY = path.join(CODE_SERVER_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

export interface CodeServerOptions {
  /** User data folder (settings in User/settings.json, logs in logs/); default: a new temp folder. */
  userDataDir?: string;
  /** Extensions folder; default: a new temp folder. */
  extensionsDir?: string;
  /** Written to User/settings.json before the start (merged over a few quiet defaults). */
  settings?: Record<string, unknown>;
  /** Port to bind on 127.0.0.1; default: a free one. */
  port?: number;
  /** Extra command-line arguments for code-server. */
  args?: string[];
  /** Receives code-server's stdout/stderr lines (default: dropped; they are also in `output`). */
  onOutput?: (line: string) => void;
  /** Milliseconds to wait for the server to answer (default 60 s). */
  startTimeoutMs?: number;
  /** Keep the temp folder on stop() (for reading logs afterwards). */
  keep?: boolean;
}

export interface CodeServer {
  readonly url: string;
  readonly port: number;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  /** The temp folder holding everything this instance made (HOME, config, default dirs). */
  readonly tempDir: string;
  /** code-server's own output so far. */
  readonly output: string[];
  /** URL that opens a folder (absolute path on this machine). */
  folderUrl(folder: string, payload?: [string, string][]): string;
  /** `code-server --install-extension` into extensionsDir (a .vsix path or an id). */
  installExtension(vsixOrId: string): Promise<void>;
  /** Text of every *.log file under the user data dir's logs/ (window, exthost, remoteagent …). */
  readLogs(): { file: string; text: string }[];
  stop(): Promise<void>;
}

/** Settings that keep screenshots and tests free of welcome pages, tips and prompts. */
export const QUIET_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

export function isCodeServerInstalled(): boolean {
  return existsSync(CODE_SERVER_ENTRY);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CODE_SERVER_ENTRY, ...args], { env, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`code-server ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

async function waitUntilAnswering(url: string, child: ChildProcess, timeoutMs: number, output: string[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode} before answering:\n${output.join('\n')}`);
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer at ${url} within ${timeoutMs} ms:\n${output.join('\n')}`);
}

function listLogs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) found.push(...listLogs(full));
    else if (entry.endsWith('.log')) found.push(full);
  }
  return found;
}

export async function startCodeServer(options: CodeServerOptions = {}): Promise<CodeServer> {
  if (!isCodeServerInstalled()) {
    throw new Error(`code-server is not installed: run bash ${path.relative(process.cwd(), path.join(CODE_SERVER_DIR, 'install.sh'))}`);
  }
  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'ziplora-code-server-'));
  const home = path.join(tempDir, 'home');
  const userDataDir = options.userDataDir ?? path.join(tempDir, 'user-data');
  const extensionsDir = options.extensionsDir ?? path.join(tempDir, 'extensions');
  for (const dir of [home, userDataDir, extensionsDir, path.join(userDataDir, 'User')]) mkdirSync(dir, { recursive: true });
  const settingsFile = path.join(userDataDir, 'User', 'settings.json');
  const existing = existsSync(settingsFile) ? (JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(settingsFile, JSON.stringify({ ...QUIET_SETTINGS, ...existing, ...options.settings }, null, 2));
  const configFile = path.join(tempDir, 'config.yaml');
  writeFileSync(configFile, 'auth: none\ncert: false\n');

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    PASSWORD: undefined,
    HASHED_PASSWORD: undefined,
    VSCODE_PROXY_URI: undefined,
  };
  const dirArgs = ['--config', configFile, '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const child = spawn(
    process.execPath,
    [
      CODE_SERVER_ENTRY,
      ...dirArgs,
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      ...(options.args ?? []),
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const onData = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      output.push(line);
      options.onOutput?.(line);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      // code-server forks its VS Code server and extension hosts: end the whole process group.
      try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* gone */ }
      const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 5000);
      await exited;
      clearTimeout(timer);
    }
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* the group is gone */ }
    if (!options.keep) rmSync(tempDir, { recursive: true, force: true });
  };

  try {
    await waitUntilAnswering(url, child, options.startTimeoutMs ?? 60_000, output);
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url,
    port,
    userDataDir,
    extensionsDir,
    tempDir,
    output,
    folderUrl(folder: string, payload?: [string, string][]): string {
      let u = `${url}/?folder=${encodeURIComponent(path.resolve(folder))}`;
      if (payload) u += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
      return u;
    },
    async installExtension(vsixOrId: string): Promise<void> {
      const target = existsSync(vsixOrId) ? path.resolve(vsixOrId) : vsixOrId;
      await run([...dirArgs, '--force', '--install-extension', target], env);
    },
    readLogs() {
      return listLogs(path.join(userDataDir, 'logs')).map((file) => ({ file, text: readFileSync(file, 'utf8') }));
    },
    stop,
  };
}
