// Every verifier build, so one suite of vectors runs against each (docs/style.md §2, §11).

import type { VerifierOptions, VerifyInput, VerifyResult } from '../../src/verify/index.ts';
import * as node from '../../src/verify/index.ts';
import * as web from '../../src/verify/web.ts';

export interface Build {
  name: string;
  /** Builds the verifier (throws `VerifierConfigError` on bad options) and verifies. */
  verify(options: VerifierOptions, input: VerifyInput): Promise<VerifyResult>;
  /** Only builds the verifier, for configuration tests. */
  create(options: VerifierOptions): unknown;
}

export const BUILDS: Build[] = [
  {
    name: 'node:crypto',
    verify: async (o, i) => node.createVerifier(o).verify(i),
    create: (o) => node.createVerifier(o),
  },
  {
    name: 'Web Crypto',
    verify: (o, i) => web.createVerifier(o).verify(i),
    create: (o) => web.createVerifier(o),
  },
];
