import type { BrowserContext, Page } from 'playwright-core';
import { launchHeadlessChromium } from '../../src/bench/headless-chromium.js';
import { readFrameCode } from '../../src/source/synthetic-source.js';
import type {} from '../../src/web/page-hook.js';
import type { StreamState } from '../../src/web/stream-state.js';


/** A headless Chromium with a fresh profile, removed on close. */
export interface TestBrowser {
  readonly context: BrowserContext;
  /** Opens a page and records its console errors and uncaught exceptions in `errors`. */
  open(url: string): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await launchHeadlessChromium({ viewport: { width: 1280, height: 800 } });
  const context = browser.context;
  return {
    context,
    async open(url) {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      return { page, errors };
    },
    async close() {
      await browser.close();
    },
  };
}

/** Waits (bounded) until the stream `topic` on the page satisfies `predicate`, returning its state. */
export async function waitForStream(page: Page, topic: string, predicate: string, timeoutMs = 20_000): Promise<StreamState> {
  await page.waitForFunction(
    ([t, p]) => {
      const s = window.framebus?.streams.find((x) => x.topic === t);
      return s !== undefined && (new Function('s', `return ${p};`) as (s: unknown) => boolean)(s);
    },
    [topic, predicate] as const,
    { timeout: timeoutMs, polling: 20 },
  );
  return (await page.evaluate((t) => window.framebus.streams.find((x) => x.topic === t), topic)) as StreamState;
}

/**
 * The frame number drawn on the canvas of stream `topic` now, read from the synthetic
 * scene's bit strip in the canvas pixels (so a test checks what is really on screen).
 */
export async function drawnFrameCode(page: Page, topic: string): Promise<number> {
  const { width, height, base64 } = await page.evaluate((t) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`section.stream[data-topic="${t}"] canvas`);
    if (!canvas) throw new Error(`no canvas for ${t}`);
    const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let binary = '';
    for (let i = 0; i < pixels.length; i += 0x8000) binary += String.fromCharCode(...pixels.subarray(i, i + 0x8000));
    return { width: canvas.width, height: canvas.height, base64: btoa(binary) };
  }, topic);
  return readFrameCode(Buffer.from(base64, 'base64'), width, height, 4);
}
