// server.max_connections over real TCP: idle keep-alive connections hold their slots, the
// next connection is closed without being served, and a slot given back serves again.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { SECRETS, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { stripeHeaders } from '../helpers/sign.ts';

const MAX = 5;
let gw: TestGateway;
before(async () => {
  gw = await startTestGateway({ server: `max_connections: ${MAX}` });
});
after(() => gw.close());

interface Conn {
  socket: Socket;
  /** Everything the server wrote so far. */
  received: () => string;
  /** Resolves when the server closes (or resets) the connection. */
  closed: Promise<void>;
}

function open(request: string): Promise<Conn> {
  const { port, hostname } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    const closed = new Promise<void>((done) => {
      socket.on('close', () => done());
      // A reset is how a refused connection may end when our request was already sent.
      socket.on('error', () => done());
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.write(request);
      resolve({ socket, received: () => received, closed });
    });
  });
}

const healthz = 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n';

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const connections = () =>
  new Promise<number>((resolve, reject) =>
    gw.gateway.server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );

test(`past max_connections (${MAX}) a connection is closed unserved; a freed slot serves again`, async () => {
  let dropped = 0;
  gw.gateway.server.on('drop', () => dropped++);

  // Five keep-alive connections, each answered once and then left idle (well inside the 5 s
  // keep-alive timeout), so each holds a slot without a request in flight.
  const idle = await Promise.all(Array.from({ length: MAX }, () => open(healthz)));
  for (const c of idle) {
    await until(() => c.received().includes('{"status":"ok"}'), 'the healthz answer');
    assert.match(c.received(), /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(c.received(), /connection: close/i);
  }
  assert.equal(await connections(), MAX);

  // The sixth carries a valid signed event: it must be neither answered nor stored.
  const refusedId = `evt_${randomUUID()}`;
  const refusedBody = JSON.stringify({ id: refusedId, type: 'x' });
  const headers = Object.entries(stripeHeaders(refusedBody, SECRETS.stripe))
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const sixth = await open(
    `POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\n${headers}` +
      `Content-Length: ${Buffer.byteLength(refusedBody)}\r\n\r\n${refusedBody}`,
  );
  let closedByServer = false;
  void sixth.closed.then(() => (closedByServer = true));
  await until(() => closedByServer, 'the server to close the sixth connection');
  assert.equal(sixth.received(), '', 'the sixth connection got no reply');
  assert.equal(dropped, 1);
  // The five idle ones were not disturbed.
  for (const c of idle) assert.equal(c.socket.destroyed, false);

  // Give two slots back; the server sees the closes, then a signed event is served.
  for (const c of idle.slice(0, 2)) c.socket.destroy();
  await until(async () => (await connections()) <= MAX - 2, 'the freed slots');

  const servedId = `evt_${randomUUID()}`;
  const body = JSON.stringify({ id: servedId, type: 'x' });
  const res = await gw.post('stripe', body, stripeHeaders(body, SECRETS.stripe));
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { status: string }).status, 'received');

  const listed = (await (await gw.api('/events?source=stripe')).json()) as {
    data: { event_id: string }[];
  };
  // Only the event sent on a served connection is stored.
  assert.deepEqual(
    listed.data.map((e) => e.event_id),
    [servedId],
  );
  assert.equal(dropped, 1);

  for (const c of idle.slice(2)) c.socket.destroy();
});
