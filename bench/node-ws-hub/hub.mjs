// A minimal ws broadcast hub: every text frame any client sends goes to
// every client. `node hub.mjs <port>`; prints `listening <port>` when ready.
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
wss.on('listening', () => console.log(`listening ${wss.address().port}`));
wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    if (isBinary) return;
    const text = data.toString();
    for (const client of wss.clients) client.send(text);
  });
});
