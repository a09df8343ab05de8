import type { Command } from 'commander';
import { Bus } from '../../bus/bus.js';
import { publishJson } from '../../bus/json-publisher.js';
import { echoTopic, formatEchoed } from '../../bus/topic-echo.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { busTypes, loadLcmTypes } from '../../wire/lcm-types.js';
import { writeLcmTypeScript } from '../../wire/lcm-typescript.js';
import { numberIn } from '../options.js';
import { interruptSignal, untilInterrupted } from '../until-interrupted.js';

const TYPES_HELP = '.lcm files or folders (searched recursively) with message types';

function parseJsonOption(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new InvalidArgumentError(`--json is not JSON: ${(cause as Error).message}`, { cause });
  }
}

/** LCM type commands: generate TypeScript, print a topic's messages, publish one from JSON. */
export function registerLcmCommands(program: Command): void {
  program
    .command('lcm-gen')
    .description('Generate TypeScript modules (interface, constants, MessageType) from .lcm files, one per type')
    .argument('<paths...>', TYPES_HELP)
    .requiredOption('--out <dir>', 'output folder (a subfolder per package)')
    .option('--runtime <module>', 'module the generated code imports framebus from', 'framebus')
    .action(async (paths: string[], o) => {
      const types = await loadLcmTypes(paths);
      const written = await writeLcmTypeScript(types.structs, o.out, { runtime: o.runtime });
      process.stdout.write(`wrote ${written.length} modules to ${o.out}\n`);
    });
  program
    .command('echo')
    .description("Print a topic's messages, one line each, decoded by the loaded type with their fingerprint")
    .argument('<topic>', 'topic (channel) name')
    .requiredOption('--bus <url>', 'lcm://239.255.76.67:7667?ttl=0, nats://127.0.0.1:4222 or memory:')
    .option('--types <paths...>', `${TYPES_HELP} (framebus's own types are always known)`)
    .option('--json', 'print each message as a JSON object with topic, type, fingerprint, size and received_ns')
    .option('--count <n>', 'exit after this many messages', numberIn(1, Number.MAX_SAFE_INTEGER, { integer: true }))
    .action(async (topic: string, o) => {
      const types = busTypes(o.types ? await loadLcmTypes(o.types) : undefined);
      const bus = await Bus.open(o.bus, { types: types.types });
      let seen = 0;
      let done: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => (done = resolve));
      const subscription = echoTopic(bus, topic, types.types, (message) => {
        if (o.count !== undefined && seen >= o.count) return;
        process.stdout.write(`${formatEchoed(message, Boolean(o.json))}\n`);
        if (++seen === o.count) done();
      });
      try {
        await bus.flush();
        process.stderr.write(`echo: listening on ${topic} (${bus.url}) with ${types.types.length} types; Ctrl-C to stop\n`);
        await untilInterrupted(finished);
      } finally {
        subscription.unsubscribe();
        await bus.close();
      }
    });
  program
    .command('pub')
    .description('Publish a message given as JSON on a topic as an LCM type')
    .argument('<topic>', 'topic (channel) name')
    .requiredOption('--bus <url>', 'lcm://239.255.76.67:7667?ttl=0, nats://127.0.0.1:4222 or memory:')
    .requiredOption('--type <name>', 'the message type, package.name (or name alone when unique)')
    .requiredOption('--json <value>', 'the message as JSON: int64_t as a number or a decimal string, bytes as base64 or an array')
    .option('--types <paths...>', `${TYPES_HELP} (framebus's own types are always known)`)
    .option('--rate <hz>', 'messages per second', numberIn(0, 10_000, { above: true, unit: 'Hz' }), 1)
    .option('--count <n>', 'messages to publish; 0: until Ctrl-C', numberIn(0, Number.MAX_SAFE_INTEGER, { integer: true }), 1)
    .action(async (topic: string, o) => {
      const types = busTypes(o.types ? await loadLcmTypes(o.types) : undefined);
      const type = types.get(o.type);
      const json = parseJsonOption(o.json);
      const bus = await Bus.open(o.bus, { types: types.types });
      try {
        const n = await publishJson(bus, topic, type, json, { rate: o.rate, count: o.count, signal: interruptSignal() });
        process.stdout.write(`published ${n} ${type.name} on ${topic}\n`);
      } finally {
        await bus.close();
      }
    });
}
