// A charge point nobody here wrote: ocpp-rpc in strict mode, which checks every call it sends and every
// answer it gets against the official OCPP 1.6 JSON schemas. Run by tests/Energy.Node.Tests against a
// node process, with OCPP_ENDPOINT (ws://host:port/ocpp), OCPP_ID_TAG (a registered vehicle) and
// OCPP_PASSWORD (the password the operator of the chargers rpc-cp-1 and rpc-cp-2 set for both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RPCClient } from 'ocpp-rpc';

const endpoint = process.env.OCPP_ENDPOINT;
const idTag = process.env.OCPP_ID_TAG;
const password = process.env.OCPP_PASSWORD;
const now = () => new Date().toISOString();

function chargePoint(identity, strictMode) {
  const client = new RPCClient({ endpoint, identity, password, protocols: ['ocpp1.6'], strictMode, reconnect: false, callTimeoutMs: 15000 });
  client.failures = [];
  client.on('strictValidationFailure', (failure) => client.failures.push(failure));
  return client;
}

const energyRegister = (kWh) => [{ timestamp: now(), sampledValue: [{ value: String(kWh), measurand: 'Energy.Active.Import.Register', unit: 'kWh' }] }];

test('a complete OCPP 1.6J session in strict mode', async () => {
  const cp = chargePoint('rpc-cp-1', true);
  await cp.connect();
  assert.equal(cp.protocol, 'ocpp1.6');

  assert.equal((await cp.call('BootNotification', { chargePointVendor: 'ocpp-rpc', chargePointModel: 'strict' })).status, 'Accepted');
  assert.ok((await cp.call('Heartbeat', {})).currentTime);
  await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Preparing' });
  assert.equal((await cp.call('Authorize', { idTag })).idTagInfo.status, 'Accepted');
  assert.equal((await cp.call('Authorize', { idTag: 'nobody' })).idTagInfo.status, 'Invalid');

  const start = await cp.call('StartTransaction', { connectorId: 1, idTag, meterStart: 1000, timestamp: now() });
  assert.equal(start.idTagInfo.status, 'Accepted');
  await cp.call('MeterValues', { connectorId: 1, transactionId: start.transactionId, meterValue: energyRegister(2.5) });
  await cp.call('MeterValues', { connectorId: 1, transactionId: start.transactionId, meterValue: energyRegister(2.0) });
  const stop = await cp.call('StopTransaction', { transactionId: start.transactionId, meterStop: 4000, timestamp: now(), reason: 'EVDisconnected' });
  assert.equal(stop.idTagInfo.status, 'Accepted');
  const repeated = await cp.call('StopTransaction', { transactionId: start.transactionId, meterStop: 9000, timestamp: now() });
  assert.deepEqual(repeated, stop);

  const second = await cp.call('StartTransaction', { connectorId: 1, idTag, meterStart: 5000, timestamp: now() });
  assert.notEqual(second.transactionId, start.transactionId);
  const below = await cp.call('StopTransaction', { transactionId: second.transactionId, meterStop: 100, timestamp: now() });
  assert.equal(below.idTagInfo.status, 'Invalid');
  const unknown = await cp.call('StopTransaction', { transactionId: 987654, meterStop: 1, timestamp: now() });
  assert.equal(unknown.idTagInfo.status, 'Invalid');

  assert.deepEqual(cp.failures, []);
  await cp.close();
});

test('hostile calls are answered with the matching CALLERROR and the connection stays usable', async () => {
  const cp = chargePoint('rpc-cp-2', false);
  await cp.connect();
  const code = (expected) => (error) => { assert.equal(error.rpcErrorCode, expected); return true; };
  await assert.rejects(cp.call('StartTransaction', { connectorId: 'one', idTag, meterStart: 1, timestamp: now() }), code('TypeConstraintViolation'));
  await assert.rejects(cp.call('BootNotification', { chargePointVendor: 'ocpp-rpc' }), code('OccurenceConstraintViolation'));
  await assert.rejects(cp.call('Authorize', { idTag: 'x'.repeat(21) }), code('PropertyConstraintViolation'));
  await assert.rejects(cp.call('Heartbeat', { unexpected: true }), code('FormationViolation'));
  await assert.rejects(cp.call('FlyToTheMoon', {}), code('NotImplemented'));
  cp.sendRaw('this is not json');
  cp.sendRaw('[2,"half a frame"');
  assert.ok((await cp.call('Heartbeat', {})).currentTime);
  await cp.close();
});
