// OCPP 1.6 security profiles against the Energy node, spoken by ocpp-rpc in strict mode: Basic authentication
// (profile 1), the same over TLS to the node's self-signed certificate (profile 2), no authentication only
// where the operator allowed it (profile 0), and every refusal an HTTP 401 before any upgrade. Run by
// tests/Energy.Node.Tests with:
//   OCPP_ENDPOINT        ws://host:port/ocpp
//   OCPP_TLS_ENDPOINT    wss://host:tlsPort/ocpp
//   OCPP_CA_FILE         the node's public certificate (PEM), the one certificate this client trusts
//   OCPP_CHARGE_POINT    a charger with a password, OCPP_PASSWORD its password
//   OCPP_OPEN_CHARGE_POINT    a charger whose operator allowed profile 0
//   OCPP_UNKNOWN_CHARGE_POINT an id the network does not know
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RPCClient } from 'ocpp-rpc';

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is not set`);
  return value;
};

function chargePoint(identity, options = {}) {
  const client = new RPCClient({
    endpoint: env('OCPP_ENDPOINT'), identity, protocols: ['ocpp1.6'], strictMode: true, reconnect: false, callTimeoutMs: 15000, ...options,
  });
  client.failures = [];
  client.on('strictValidationFailure', (failure) => client.failures.push(failure));
  return client;
}

async function boots(client) {
  const opened = await client.connect();
  assert.equal(client.protocol, 'ocpp1.6');
  assert.equal(opened.response.statusCode, 101);
  const boot = await client.call('BootNotification', { chargePointVendor: 'ocpp-rpc', chargePointModel: 'secured' });
  assert.equal(boot.status, 'Accepted');
  assert.deepEqual(client.failures, []);
  await client.close();
}

const refusedWith = (status) => (error) => {
  assert.equal(error.code, status, `expected HTTP ${status}, got ${error.code} (${error.message})`);
  return true;
};

test('profile 1: Basic authentication with the charge point id and its password is served', async () => {
  await boots(chargePoint(env('OCPP_CHARGE_POINT'), { password: env('OCPP_PASSWORD') }));
});

test('without a password, with a wrong one, or for an unknown id: 401 and no upgrade', async () => {
  await assert.rejects(chargePoint(env('OCPP_CHARGE_POINT')).connect(), refusedWith(401));
  await assert.rejects(chargePoint(env('OCPP_CHARGE_POINT'), { password: env('OCPP_PASSWORD') + 'x' }).connect(), refusedWith(401));
  await assert.rejects(chargePoint(env('OCPP_UNKNOWN_CHARGE_POINT'), { password: env('OCPP_PASSWORD') }).connect(), refusedWith(401));
  await assert.rejects(chargePoint(env('OCPP_UNKNOWN_CHARGE_POINT')).connect(), refusedWith(401));
});

test('profile 0: a charge point whose operator allowed it connects without a password', async () => {
  await boots(chargePoint(env('OCPP_OPEN_CHARGE_POINT')));
});

test('profile 2: Basic authentication over TLS to the node certificate, trusted explicitly', async () => {
  const ca = readFileSync(env('OCPP_CA_FILE'), 'utf8');
  const tls = { endpoint: env('OCPP_TLS_ENDPOINT'), wsOpts: { ca, minVersion: 'TLSv1.2' } };
  await boots(chargePoint(env('OCPP_CHARGE_POINT'), { ...tls, password: env('OCPP_PASSWORD') }));
  await assert.rejects(chargePoint(env('OCPP_CHARGE_POINT'), { ...tls, password: 'wrong' }).connect(), refusedWith(401));
  // A client that trusts only the usual authorities refuses the self-signed certificate: the channel is really TLS.
  await assert.rejects(chargePoint(env('OCPP_CHARGE_POINT'), { endpoint: env('OCPP_TLS_ENDPOINT'), password: env('OCPP_PASSWORD') }).connect(),
    (error) => { assert.match(String(error.code ?? error.message), /SELF_SIGNED|CERT|certificate/i); return true; });
});
