// The live dashboard: sign in by signing a challenge with a viewer key the operator endorsed (WebCrypto
// Ed25519; the operator's own key never comes here), then receive the network's picture over SignalR, at
// most ten updates a second, filtered to what this operator may see. Libraries: @microsoft/signalr and
// uPlot, served from their npm packages.
"use strict";

const kinds = { session: "Charging sessions", trade: "Energy trades", market: "Market clearings", pass: "Toll passes", violation: "Violations", block: "Settlement blocks", alert: "Alerts" };
const $ = (id) => document.getElementById(id);
let connection = null;
let charts = null;
let marketChart = null;
let marketZone = null;

const hex = (text) => new Uint8Array(text.trim().match(/.{2}/g).map((b) => parseInt(b, 16)));
const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const base64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const unbase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const unbase64url = (text) => unbase64(text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "="));
const money = (minor) => (minor / 100).toFixed(2);

// A viewer key's Ed25519 seed as PKCS#8 (RFC 8410): a fixed prefix, then the 32 bytes. Its public key,
// which the node looks up among the operator's viewer keys, comes from the key's JWK form.
async function importViewerKey(seedHex) {
  const seed = /^[0-9a-fA-F]{64}$/.test(seedHex.trim()) ? hex(seedHex) : null;
  if (!seed) throw new Error("the viewer key is 32 bytes, as 64 hex digits (the second line of the dashboard key file)");
  const prefix = hex("302e020100300506032b657004220420");
  const der = new Uint8Array(prefix.length + seed.length);
  der.set(prefix);
  der.set(seed, prefix.length);
  const key = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  return { key, publicHex: toHex(unbase64url(jwk.x)) };
}

// The dashboard key file: the operator's id, then the viewer key's seed.
async function loadKeyFile(file) {
  const [operator, seed] = (await file.text()).split(/\r?\n/).map((line) => line.trim());
  $("operator").value = operator ?? "";
  $("key").value = seed ?? "";
}

async function failure(response) {
  const body = await response.json().catch(() => ({ error: { code: `Http${response.status}`, message: response.statusText } }));
  return new Error(`${body.error.code}: ${body.error.message}`);
}

async function signIn() {
  $("sign-in-error").textContent = "";
  try {
    const operator = $("operator").value.trim();
    const { key, publicHex } = await importViewerKey($("key").value);
    const issued = await fetch(`/dashboard/sign-in/challenge?operator=${encodeURIComponent(operator)}`);
    if (!issued.ok) throw await failure(issued);
    const challenge = (await issued.json()).challenge;
    const signature = await crypto.subtle.sign({ name: "Ed25519" }, key, unbase64(challenge));
    const answer = await fetch("/dashboard/sign-in", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ operator, key: publicHex, challenge, signature: base64(signature) }),
    });
    if (!answer.ok) throw await failure(answer);
    const result = await answer.json();
    $("who").textContent = `${result.operator} (${result.role}${result.seesEverything ? ", sees everything" : ""})`;
    $("sign-in").hidden = true;
    $("board").hidden = false;
    await connect();
  } catch (error) {
    $("sign-in-error").textContent = error.message;
  }
}

async function connect() {
  connection = new signalR.HubConnectionBuilder().withUrl("/dashboard/hub").withAutomaticReconnect().build();
  connection.on("update", render);
  connection.onreconnecting(() => ($("status").textContent = "reconnecting"));
  connection.onreconnected(() => ($("status").textContent = "live"));
  await connection.start();
  $("status").textContent = "live";
}

function render(view) {
  const t = view.totals;
  $("settled").textContent = money(t.settledMinorUnits);
  $("energy").textContent = (t.energyWh / 1000).toFixed(1);
  $("payments").textContent = view.payments;
  $("rate").textContent = view.paymentsPerSecond;
  $("sessions").textContent = t.sessions;
  $("passes").textContent = t.passes;
  $("violations").textContent = t.violations;
  $("alerts").textContent = t.alerts;
  renderFeeds(view.feeds);
  renderZones(view.zones);
  renderCharts(view.series);
  renderMarkets(view.markets);
}

// The zones' markets (a grid operator's only): each interval's depth, price, volume, delivery and imbalance of the
// chosen zone, its price and volume over the recent intervals, and the latest trades of every zone.
function renderMarkets(markets) {
  const zones = markets?.zones ?? [];
  const select = $("market-zone");
  const names = zones.map((z) => z.zone);
  if (select.options.length !== names.length || names.some((n, i) => select.options[i].value !== n)) {
    select.replaceChildren(...names.map((n) => new Option(n, n)));
  }
  marketZone = names.includes(marketZone) ? marketZone : names[0] ?? null;
  select.value = marketZone ?? "";
  const zone = zones.find((z) => z.zone === marketZone);
  const rows = zone ? [...zone.intervals].reverse() : [];
  const kwh = (wh) => (wh == null ? "" : (wh / 1000).toFixed(1));
  $("market-intervals").replaceChildren(...rows.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.status = r.status;
    tr.dataset.interval = r.interval;
    const start = r.startMs ? new Date(r.startMs).toISOString().slice(11, 19) : r.interval;
    tr.innerHTML = `<td>${start}</td><td>${r.status}</td><td>${r.bidOrders}</td><td>${kwh(r.bidWh)}</td><td>${r.offerOrders}</td><td>${kwh(r.offerWh)}</td>`
      + `<td>${r.priceMinorUnitsPerKwh == null ? "" : money(r.priceMinorUnitsPerKwh)}</td><td>${kwh(r.volumeWh)}</td><td>${r.fills}</td>`
      + `<td>${kwh(r.deliveredWh)}</td><td>${kwh(r.imbalanceWh)}</td>`;
    return tr;
  }));
  $("market-trades").replaceChildren(...(markets?.trades ?? []).map((t) => {
    const li = document.createElement("li");
    li.textContent = `${t.zone}: ${t.device} ${t.side === "bid" ? "bought" : "sold"} ${t.energyWh} Wh at ${money(t.priceMinorUnitsPerKwh)} per kWh (${money(t.amountMinorUnits)})`;
    return li;
  }));
  const cleared = zone ? zone.intervals.filter((r) => r.status !== "open" && r.startMs) : [];
  if (cleared.length === 0) return;
  const data = [cleared.map((r) => r.startMs / 1000), cleared.map((r) => (r.priceMinorUnitsPerKwh ?? 0) / 100), cleared.map((r) => r.volumeWh / 1000)];
  if (!marketChart) {
    marketChart = new uPlot({
      title: "Cleared price and volume", width: 560, height: 220,
      series: [{}, { label: "price / kWh", stroke: "#f0883e", scale: "price" }, { label: "kWh cleared", stroke: "#58a6ff", scale: "kwh" }],
      axes: [{ stroke: "#8b949e" }, { scale: "price", stroke: "#f0883e" }, { scale: "kwh", side: 1, stroke: "#58a6ff" }],
    }, data, $("market-chart"));
    return;
  }
  marketChart.setData(data);
}

// A feed holds still while the pointer is over it, so that an item can be read and clicked; it catches up when the
// pointer leaves.
let latestFeeds = {};
const heldFeeds = new Set();

function renderFeeds(feeds) {
  latestFeeds = feeds;
  const root = $("feeds");
  for (const [kind, title] of Object.entries(kinds)) {
    let list = document.querySelector(`[data-testid="feed-${kind}"]`);
    if (!list) {
      const box = document.createElement("div");
      box.dataset.testid = `feed-${kind}-box`;
      box.innerHTML = `<h2>${title}</h2>`;
      list = document.createElement("ol");
      list.dataset.testid = `feed-${kind}`;
      box.appendChild(list);
      box.onpointerenter = () => heldFeeds.add(kind);
      box.onpointerleave = () => { heldFeeds.delete(kind); renderFeeds(latestFeeds); };
      root.appendChild(box);
    }
    if (heldFeeds.has(kind)) continue;
    list.replaceChildren(...(feeds[kind] || []).map((item) => {
      const li = document.createElement("li");
      li.textContent = item.title;
      li.dataset.id = item.id;
      li.title = item.links.join(" ");
      li.onclick = () => drill(item.links[0]);
      return li;
    }));
  }
}

function renderZones(zones) {
  $("zones").replaceChildren(...zones.map((z) => {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td>${z.zone}</td><td>${z.sessions}</td><td>${(z.energyWh / 1000).toFixed(1)}</td><td>${z.passes}</td><td>${z.violations}</td><td>${money(z.tollMinorUnits)}</td>`;
    return tr;
  }));
}

function renderCharts(series) {
  if (!series || series.length === 0) return;
  const x = series.map((s) => s.at / 1000);
  if (!charts) {
    const options = (title, label) => ({ title, width: 560, height: 220, series: [{}, { label, stroke: "#58a6ff" }], axes: [{ stroke: "#8b949e" }, { stroke: "#8b949e" }] });
    charts = {
      rate: new uPlot(options("Payments per second", "payments/s"), [x, series.map((s) => s.paymentsPerSecond)], $("rate-chart")),
      settled: new uPlot(options("Value settled", "settled"), [x, series.map((s) => s.settledMinorUnits / 100)], $("settled-chart")),
    };
    return;
  }
  charts.rate.setData([x, series.map((s) => s.paymentsPerSecond)]);
  charts.settled.setData([x, series.map((s) => s.settledMinorUnits / 100)]);
}

// Drill-down: a device, a channel, or a block with the audit of its shard's chain.
async function drill(link) {
  if (!link) return;
  const [kind, ...rest] = link.split(":");
  const path = kind === "block" ? `blocks/${rest.slice(0, -1).join(":")}/${rest.at(-1)}` : `${kind}s/${rest.join(":")}`;
  const answer = await fetch(`/dashboard/api/${path}`);
  $("detail-title").textContent = link;
  $("detail-body").textContent = answer.ok ? JSON.stringify(await answer.json(), null, 2) : `${answer.status}: ${await answer.text()}`;
  $("detail").hidden = false;
}

$("sign-in-button").onclick = signIn;
$("key-file").onchange = (event) => event.target.files[0] && loadKeyFile(event.target.files[0]);
$("detail-close").onclick = () => ($("detail").hidden = true);
$("market-zone").onchange = (event) => (marketZone = event.target.value);
