// A plain SSE relay, the smee.io design, for bench/listen/run.ts to run beside `hookyard listen`:
//   node bench/listen/relay.ts server <port>          POST /hook → every GET /events stream
//   node bench/listen/relay.ts client <relay> <target> each message → POST to target
// The server stores nothing: an event that arrives while no client is connected is gone (what
// smee, and stripe listen, do). Unlike smee-client, which re-serialises the JSON and so breaks
// signatures (smee-client #325), the body travels as base64 and is forwarded byte for byte
// with its headers, so the local app's signature check passes; like smee-client, each message
// is forwarded as it arrives, without waiting for the previous one and without an ack.
import { createServer, request, type ServerResponse } from 'node:http';

const [mode, a, b] = process.argv.slice(2);

if (mode === 'server') {
  const clients = new Set<ServerResponse>();
  createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': relay\n\n');
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k))
          headers[k] = v;
      const data = JSON.stringify({ headers, body: Buffer.concat(chunks).toString('base64') });
      for (const c of clients) c.write(`data: ${data}\n\n`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  }).listen(Number(a), '127.0.0.1', () => console.log('relay listening'));
} else if (mode === 'client') {
  const target = new URL(b as string);
  const res = await fetch(`${a}/events`);
  if (!res.body) throw new Error('no stream');
  console.log('relay client connected');
  const decoder = new TextDecoder();
  let tail = '';
  for await (const chunk of res.body) {
    tail += decoder.decode(chunk as Uint8Array, { stream: true });
    let at: number;
    while ((at = tail.indexOf('\n\n')) >= 0) {
      const message = tail.slice(0, at);
      tail = tail.slice(at + 2);
      if (!message.startsWith('data: ')) continue;
      const { headers, body } = JSON.parse(message.slice(6)) as {
        headers: Record<string, string>;
        body: string;
      };
      const bytes = Buffer.from(body, 'base64');
      const req = request(target, {
        method: 'POST',
        headers: { ...headers, 'content-length': bytes.length },
      });
      req.on('response', (r) => r.resume());
      req.on('error', () => undefined); // like smee-client: a failed forward is gone
      req.end(bytes);
    }
  }
} else {
  console.error('usage: relay.ts server <port> | client <relay url> <target url>');
  process.exit(2);
}
