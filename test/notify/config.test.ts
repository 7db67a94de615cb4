// The notify section of hookyard.yaml: what it requires and refuses, with the path of the bad key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../src/config.ts';

const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const refusal = (yaml: string) => {
  try {
    parseConfigText(yaml, {});
  } catch (error) {
    return (error as Error).message;
  }
  return 'accepted';
};

test('notify: defaults, and the endpoint as a destination of its own', () => {
  const c = parseConfigText(
    `notify: { url: https://ops.example.com/hooks, secret: ${SECRET} }`,
    {},
  );
  assert.deepEqual(c.notify && { ...c.notify, destination: undefined }, {
    destination: undefined,
    events: ['delivery.dead', 'destination.failing', 'destination.recovered'],
    format: 'standard-webhooks',
    failingAfter: 5,
    intervalMs: 60_000,
    burst: 5,
  });
  assert.equal(c.notify?.destination.name, 'hookyard.notify');
  assert.equal(c.notify?.destination.secret, SECRET);
  assert.equal(c.notify?.destination.maxAttempts, 12);
  assert.equal(parseConfigText('{}', {}).notify, undefined);
});

test('notify: refused where it would be unsigned, unsafe, or unknown', () => {
  assert.match(refusal('notify: { url: https://ops.example.com/hooks }'), /notify\.secret/);
  assert.equal(
    refusal('notify: { url: https://hooks.slack.com/services/T/B/X, format: slack }'),
    'accepted',
  );
  assert.match(
    refusal(`notify: { url: http://169.254.169.254/x, secret: ${SECRET} }`),
    /notify\.url: refused/,
  );
  assert.match(
    refusal(`notify: { url: https://a.example, secret: ${SECRET}, events: [delivery.lost] }`),
    /notify\.events\.0/,
  );
  assert.match(
    refusal(`notify: { url: https://a.example, secret: ${SECRET}, ordering_key: $.a }`),
    /notify\.ordering_key/,
  );
  assert.match(
    refusal(`notify: { url: https://a.example, secret: ${SECRET}, burst: -1 }`),
    /notify\.burst/,
  );
  // The internal destination's name is taken while notify is set.
  assert.match(
    refusal(`
notify: { url: https://a.example, secret: ${SECRET} }
destinations: { hookyard.notify: { url: https://b.example } }`),
    /destinations\.hookyard\.notify/,
  );
});
