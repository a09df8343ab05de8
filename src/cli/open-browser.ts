import { spawn } from 'node:child_process';

/** Opens `url` in the desktop's browser (xdg-open / open / start); says so when it cannot. */
export function openInBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'start' : 'xdg-open';
  const child = spawn(command, [url], { detached: true, stdio: 'ignore', shell: process.platform === 'win32' });
  child.on('error', () => process.stderr.write(`framebus: could not start ${command}; open ${url} yourself\n`));
  child.unref();
}
