/**
 * Records uncaught exceptions and unhandled rejections while a suite runs, so
 * a crash of the host process fails the test that caused it instead of
 * killing the worker.
 */
export interface CrashWatch {
  /** What crashed since the last call, as stacks; empties the record. */
  take(): string[];
  stop(): void;
}

export function watchCrashes(): CrashWatch {
  const crashes: unknown[] = [];
  const record = (error: unknown): void => {
    crashes.push(error);
  };
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  return {
    take: () => crashes.splice(0).map((c) => (c instanceof Error ? (c.stack ?? c.message) : String(c))),
    stop: () => {
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
    },
  };
}
