// (a) The ceiling: bare node:http that reads the body, checks the HMAC and parses the JSON.
// No storage, so no durability: an upper bound, not a competitor.
import { serveVerified } from '../../lib.ts';

serveVerified();
