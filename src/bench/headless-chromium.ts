import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { MissingDependencyError } from '../core/errors.js';

/** Debian's Chromium; framebus never downloads a browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a headless Chromium on a closed network (no sandbox, GPU or background traffic). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium with a fresh profile; `close()` also removes the profile. */
export interface HeadlessChromium {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium (playwright-core driving `executablePath`) with a fresh profile.
 * @throws MissingDependencyError when Chromium or playwright-core is missing.
 */
export async function launchHeadlessChromium(
  options: { executablePath?: string; viewport?: { width: number; height: number }; /** More Chromium flags, e.g. a fake camera. */ args?: readonly string[] } = {},
): Promise<HeadlessChromium> {
  const executablePath = options.executablePath ?? CHROMIUM_PATH;
  await access(executablePath).catch((cause) => {
    throw new MissingDependencyError(`Chromium is not at ${executablePath}; install it (apt-get install chromium) or pass its path.`, { cause });
  });
  const playwright = await import('playwright-core').catch((cause: unknown) => {
    throw new MissingDependencyError('Driving Chromium needs playwright-core (npm install playwright-core).', { cause });
  });
  const profile = await mkdtemp(join(tmpdir(), 'framebus-chromium-'));
  const context = await playwright.chromium.launchPersistentContext(profile, {
    executablePath,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
    viewport: options.viewport ?? { width: 1280, height: 720 },
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
