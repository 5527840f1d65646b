import { stopLeftovers } from './cluster.js';

/** Before the run and after it, no throwaway cluster may be left running. */
export function setup(): void {
  stopLeftovers();
}

export function teardown(): void {
  stopLeftovers();
}
