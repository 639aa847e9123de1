// The live dashboard: sign in by signing a challenge with the operator key (WebCrypto Ed25519), then
// receive the network's picture over SignalR, at most ten updates a second, filtered to what this
// operator may see. Libraries: @microsoft/signalr and uPlot, served from their npm packages.
"use strict";

const kinds = { session: "Charging sessions", trade: "Energy trades", pass: "Toll passes", violation: "Violations", block: "Settlement blocks", alert: "Alerts" };
const $ = (id) => document.getElementById(id);
let connection = null;
let charts = null;

const hex = (text) => new Uint8Array(text.trim().match(/.{2}/g).map((b) => parseInt(b, 16)));
const base64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const unbase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const money = (minor) => (minor / 100).toFixed(2);

// An Ed25519 seed as PKCS#8 (RFC 8410): a fixed prefix, then the 32 bytes.
async function importSeed(seedHex) {
  const seed = hex(seedHex);
  if (seed.length !== 32) throw new Error("the key is 32 bytes, as 64 hex digits");
  const prefix = hex("302e020100300506032b657004220420");
  const der = new Uint8Array(prefix.length + seed.length);
  der.set(prefix);
  der.set(seed, prefix.length);
  return crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
}

async function signIn() {
  $("sign-in-error").textContent = "";
  try {
    const operator = $("operator").value.trim();
    const key = await importSeed($("key").value);
    const challenge = await fetch(`/dashboard/sign-in/challenge?operator=${encodeURIComponent(operator)}`);
    if (!challenge.ok) throw new Error((await challenge.json()).error.message);
    const body = unbase64((await challenge.json()).challenge);
    const signature = await crypto.subtle.sign({ name: "Ed25519" }, key, body);
    const answer = await fetch("/dashboard/sign-in", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ operator, signature: base64(signature) }),
    });
    const result = await answer.json();
    if (!answer.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
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
}

function renderFeeds(feeds) {
  const root = $("feeds");
  for (const [kind, title] of Object.entries(kinds)) {
    let list = document.querySelector(`[data-testid="feed-${kind}"]`);
    if (!list) {
      const box = document.createElement("div");
      box.innerHTML = `<h2>${title}</h2>`;
      list = document.createElement("ol");
      list.dataset.testid = `feed-${kind}`;
      box.appendChild(list);
      root.appendChild(box);
    }
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
$("detail-close").onclick = () => ($("detail").hidden = true);
