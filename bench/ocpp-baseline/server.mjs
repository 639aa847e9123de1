// A bare OCPP 1.6J central system without persistence: ocpp-rpc in strict mode (every frame checked against the
// 1.6 schemas, both ways), any charge point admitted, BootNotification, StartTransaction and MeterValues answered at
// once. The ocpp-reconnect benchmark measures the node against it, driven by the same client in the same run.
//
//   node server.mjs PORT      prints "listening PORT" on stdout once it accepts connections
import { RPCServer } from 'ocpp-rpc';

const port = Number(process.argv[2] ?? 0);
const server = new RPCServer({
    protocols: ['ocpp1.6'],
    strictMode: true,
    // The node does not ping its charge points either; a ping to a client that is not reading would cut it.
    pingIntervalMs: 0,
});

server.auth((accept) => accept());

let nextTransaction = 1;
server.on('client', (client) => {
    client.handle('BootNotification', () => ({ status: 'Accepted', currentTime: new Date().toISOString(), interval: 300 }));
    client.handle('StartTransaction', () => ({ transactionId: nextTransaction++, idTagInfo: { status: 'Accepted' } }));
    client.handle('MeterValues', () => ({}));
});

const http = await server.listen(port, '127.0.0.1');
console.log(`listening ${http.address().port}`);

for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, async () => {
        await server.close({ awaitPending: false, force: true });
        process.exit(0);
    });
}
