// (a) The floor: bare node:http that reads the body, checks the HMAC and parses the JSON.
// No storage, so no durability: an upper bound, not a competitor.
import { createServer } from 'node:http';
import { githubSignatureValid } from '../../lib.ts';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (!githubSignatureValid(body, req.headers['x-hub-signature-256'])) {
      res.writeHead(401).end();
      return;
    }
    JSON.parse(body.toString());
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"received"}');
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
