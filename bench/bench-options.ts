/**
 * Command-line options of a benchmark, with commander: `--help` prints them and exits 0 without
 * running anything; a bad or unknown option prints one message (commander's) and exits 2. Options
 * are declared by the benchmark (positive numbers with `positive`, integers with `count`).
 */
import { Command, CommanderError, InvalidArgumentError, type OptionValues } from 'commander';

/** A parser for a number > 0. */
export function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('needs a positive number.');
  return n;
}

/** A parser for a number > `min`. */
export function above(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= min) throw new InvalidArgumentError(`needs a number above ${min}.`);
    return n;
  };
}

/** A parser for an integer >= 1. */
export function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('needs a whole number of at least 1.');
  return n;
}

/**
 * Parses `argv` (without node and the script) with the options `declare` adds to a command named
 * `name`; on --help exits 0, on a bad option exits 2 (commander has printed why).
 */
export function benchOptions<T extends OptionValues>(name: string, description: string, declare: (c: Command) => Command, argv = process.argv.slice(2)): T {
  const program = declare(new Command(name).description(description))
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2);
  }
  return program.opts<T>();
}
