// Checks, their JSON summary, and bounded waiting: shared by the Node scripts.
//
// A script records each check (name, group, ok, error, ms); `finish` prints the summary as
// the only thing on stdout and sets the exit code (1 when any check failed). Progress goes
// to stderr.

export const TIMEOUT_MS = 5000; // any single wait for an event, an ack or a page change

export class CheckFailure extends Error {}

export function fail(message) {
  throw new CheckFailure(message);
}

export function expect(condition, message) {
  if (!condition) fail(typeof message === 'function' ? message() : message);
}

export function expectEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected ${e}, got ${a}`);
}

export function log(...parts) {
  process.stderr.write(parts.join(' ') + '\n');
}

/** A promise that rejects after `ms` with `message`, unless `promise` settles first. */
export function within(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailure(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Steps of one scenario: each is a check. Once a step fails, the later steps of the same
 * scenario are recorded as failed without running (they depend on it), so one fault does
 * not cost a timeout per later step.
 */
export class Checks {
  constructor() {
    this.results = [];
  }

  scenario(label) {
    return new Scenario(this, label);
  }

  record(result) {
    this.results.push(result);
    const mark = result.ok ? 'ok  ' : 'FAIL';
    log(`${mark} [${result.group}] ${result.name}${result.ok ? '' : `: ${result.error}`}`);
  }

  get failed() {
    return this.results.filter((result) => !result.ok);
  }

  summary(extra = {}) {
    return {
      ok: this.results.length > 0 && this.failed.length === 0,
      passed: this.results.length - this.failed.length,
      failed: this.failed.length,
      ...extra,
      checks: this.results,
    };
  }

  /** Print the summary (stdout) and end: exit code 0 when every check passed, 1 otherwise.
   * Requests still in flight (a polling client's goodbye) get up to 3 s to finish. */
  finish(extra = {}) {
    if (this.finished) return;
    this.finished = true;
    const summary = this.summary(extra);
    process.exitCode = summary.ok ? 0 : 1;
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n', () => {
      setTimeout(() => process.exit(), 3000).unref();
    });
  }
}

class Scenario {
  constructor(checks, label) {
    this.checks = checks;
    this.label = label;
    this.broken = null;
  }

  async step(group, name, run) {
    const full = `${this.label}: ${name}`;
    if (this.broken) {
      this.checks.record({ group, name: full, scenario: this.label, ok: false, ms: 0,
                           error: `not run: "${this.broken}" failed before it` });
      return undefined;
    }
    const started = Date.now();
    try {
      const value = await run();
      this.checks.record({ group, name: full, scenario: this.label, ok: true,
                           ms: Date.now() - started });
      return value;
    } catch (error) {
      this.broken = name;
      const message = error instanceof CheckFailure ? error.message
        : `${error?.name ?? 'Error'}: ${error?.message ?? error}`;
      this.checks.record({ group, name: full, scenario: this.label, ok: false,
                           ms: Date.now() - started, error: message });
      return undefined;
    }
  }
}

/** Exit with a failing summary if the whole script runs longer than `ms`. */
export function watchdog(checks, ms, extra = () => ({})) {
  const timer = setTimeout(() => {
    checks.record({ group: 'script', name: `the script finished within ${ms / 1000}s`,
                    scenario: 'script', ok: false, ms, error: 'watchdog expired' });
    checks.finish(extra());
    setTimeout(() => process.exit(), 1000).unref();
  }, ms);
  timer.unref();
  return timer;
}
