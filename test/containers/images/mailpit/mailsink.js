/**
 * A minimal SMTP sink (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on SMTP_PORT
 * (1025) and an HTTP side on HTTP_PORT (8025): GET /api/v1/messages lists what was received, newest
 * last; DELETE /api/v1/messages forgets it. Messages live in memory, like a test mailbox.
 */
const http = require('node:http');
const net = require('node:net');

const messages = [];
const SMTP_PORT = Number(process.env.SMTP_PORT || 1025);
const HTTP_PORT = Number(process.env.HTTP_PORT || 8025);

net
  .createServer((socket) => {
    let buffer = '';
    let envelope = { from: '', to: [] };
    let data = null; // lines of the message while in DATA
    const reply = (line) => socket.write(`${line}\r\n`);
    reply('220 mailsink ESMTP ready');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      let eol;
      while ((eol = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        if (data) {
          if (line === '.') {
            const raw = data.join('\r\n');
            messages.push({
              id: String(messages.length + 1),
              received: new Date().toISOString(),
              from: envelope.from,
              to: envelope.to,
              raw: Buffer.from(raw, 'latin1').toString('base64'),
            });
            data = null;
            envelope = { from: '', to: [] };
            reply('250 OK: queued');
          } else {
            data.push(line.startsWith('..') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') {
          socket.write('250-mailsink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n');
        } else if (verb === 'HELO') reply('250 mailsink');
        else if (verb === 'MAIL') {
          envelope = { from: (/<([^>]*)>/.exec(line) || [])[1] || '', to: [] };
          reply('250 OK');
        } else if (verb === 'RCPT') {
          envelope.to.push((/<([^>]*)>/.exec(line) || [])[1] || '');
          reply('250 OK');
        } else if (verb === 'DATA') {
          if (!envelope.to.length) reply('503 RCPT first');
          else {
            data = [];
            reply('354 End data with <CR><LF>.<CR><LF>');
          }
        } else if (verb === 'RSET') {
          envelope = { from: '', to: [] };
          reply('250 OK');
        } else if (verb === 'NOOP') reply('250 OK');
        else if (verb === 'QUIT') {
          reply('221 Bye');
          socket.end();
        } else reply('502 Command not implemented');
      }
    });
  })
  .listen(SMTP_PORT, '0.0.0.0');

http
  .createServer((req, res) => {
    if (req.url === '/api/v1/messages' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ total: messages.length, messages }));
    } else if (req.url === '/api/v1/messages' && req.method === 'DELETE') {
      messages.length = 0;
      res.writeHead(200).end();
    } else if (req.url === '/livez' || req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('mailsink\n');
    } else res.writeHead(404).end();
  })
  .listen(HTTP_PORT, '0.0.0.0');

process.on('SIGTERM', () => process.exit(0));
