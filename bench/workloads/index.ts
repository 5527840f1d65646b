import type { WorkloadName } from '../options.js';
import { big } from './big.js';
import { live } from './live.js';
import { many } from './many.js';
import { tiny } from './tiny.js';
import type { Workload } from './workload.js';
import { wide } from './wide.js';

export type { Workload } from './workload.js';

export const WORKLOADS: Readonly<Record<WorkloadName, Workload>> = { big, many, tiny, wide, live };
