// The dashboard in Debian's chromium. The node and two cities run outside (the .NET test starts them);
// this script signs in with viewer keys (the grid operator's from its dashboard key file, one charge point
// operator's typed in), checks what each sees, checks that an unauthenticated client gets nothing and that
// the operator's own key is refused, and keeps screenshots.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const url = process.env.DASHBOARD_URL;
const shots = process.env.SCREENSHOTS ?? "screenshots";
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
test.after(() => browser.close());

// Signs in with a viewer key: from a dashboard key file (operator id, then the key's seed) or typed in.
async function signIn(operator, key, { fromFile = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1700, height: 1100 } });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.log(`page error: ${error.message}`));
  await page.goto(`${url}/dashboard`);
  if (fromFile) {
    await page.getByTestId("key-file").setInputFiles({ name: "grid-dashboard.key", mimeType: "text/plain", buffer: Buffer.from(`${operator}\n${key}\n`) });
    await page.waitForFunction((id) => document.querySelector('[data-testid="operator"]').value === id, operator);
  } else {
    await page.getByTestId("operator").fill(operator);
    await page.getByTestId("key").fill(key);
  }
  await page.getByTestId("sign-in-button").click();
  await page.getByTestId("status").filter({ hasText: "live" }).waitFor({ timeout: 15_000 });
  return { context, page };
}

const number = async (page, id) => Number((await page.getByTestId(id).textContent()).replace(/[^0-9.]/g, ""));
const feed = (page, kind) => page.locator(`[data-testid="feed-${kind}"] li`);

test("a grid operator signs in with its dashboard key file, sees totals and feeds advance, and drills into a block with its audit", async () => {
  const { context, page } = await signIn(process.env.GRID_OPERATOR, process.env.GRID_KEY, { fromFile: true });
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="payments"]').textContent) > 0, null, { timeout: 30_000 });
  const payments = await number(page, "payments");
  const settled = await number(page, "settled");
  // The cities keep paying: the numbers move while the page is open, without a reload.
  await page.waitForFunction((before) => Number(document.querySelector('[data-testid="payments"]').textContent) > before, payments, { timeout: 30_000 });
  await page.waitForFunction((before) => Number(document.querySelector('[data-testid="settled"]').textContent) > before, settled, { timeout: 60_000 });
  await feed(page, "session").first().waitFor({ timeout: 60_000 });
  await feed(page, "pass").first().waitFor({ timeout: 30_000 });
  await feed(page, "block").first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: `${shots}/grid-operator.png`, fullPage: true });
  // As a person does: the pointer comes to the feed (which then holds still), then clicks the newest block.
  await page.getByTestId("feed-block-box").locator("h2").hover();
  await feed(page, "block").first().click();
  // Whatever the node answered (an audit, or an error with its status) is shown; the audit must be intact.
  await page.getByTestId("detail-body").filter({ hasText: /\S/ }).waitFor({ timeout: 30_000 });
  const detail = await page.getByTestId("detail-body").textContent();
  assert.match(detail, /"intact": true/, `the block's drill-down showed: ${detail.slice(0, 500)}`);
  await page.screenshot({ path: `${shots}/block-drill-down.png`, fullPage: true });
  await context.close();
});

test("a grid operator's market panel shows a cleared interval of a zone with its depth, price and volume, and the chart and trades", async () => {
  const { context, page } = await signIn(process.env.GRID_OPERATOR, process.env.GRID_KEY, { fromFile: true });
  const cleared = page.locator('[data-testid="market-intervals"] tr[data-status="cleared"], [data-testid="market-intervals"] tr[data-status="settled"]');
  await cleared.first().waitFor({ timeout: 90_000 });
  const cells = await cleared.first().locator("td").allTextContents();
  // interval, status, bids, bid kWh, offers, offer kWh, price, kWh cleared, fills, kWh delivered, imbalance
  assert.ok(Number(cells[2]) > 0 && Number(cells[4]) > 0, `a cleared interval without depth: ${cells}`);
  assert.ok(Number(cells[6]) > 0 && Number(cells[7]) > 0 && Number(cells[8]) > 0, `a cleared interval without price, volume or fills: ${cells}`);
  assert.ok((await page.getByTestId("market-zone").locator("option").count()) > 0);
  await page.locator('[data-testid="market-trades"] li').first().waitFor({ timeout: 30_000 });
  await page.locator('[data-testid="market-chart"] canvas').first().waitFor({ timeout: 30_000 });
  await feed(page, "market").first().waitFor({ timeout: 30_000 });
  await page.getByTestId("markets").screenshot({ path: `${shots}/market.png` });
  await context.close();
});

test("a charge point operator sees its own sessions and no other operator's trades", async () => {
  const { context, page } = await signIn(process.env.CPO_A, process.env.CPO_A_KEY);
  await feed(page, "session").first().waitFor({ timeout: 60_000 });
  const sessions = await feed(page, "session").allTextContents();
  assert.ok(sessions.length > 0);
  for (const line of sessions) {
    assert.ok(line.includes(process.env.CPO_A_CHARGERS), `a session not at A's chargers: ${line}`);
    assert.ok(!line.includes(process.env.CPO_B_CHARGERS), `another operator's session: ${line}`);
  }
  // Trades, blocks and alerts are the grid operator's; passes belong to the toll operator.
  for (const kind of ["trade", "market", "block", "alert", "pass"]) assert.equal(await feed(page, kind).count(), 0, `${kind} shown to a charge point operator`);
  // The zones' markets are the grid operator's: no interval, zone or trade of them reaches another operator's page.
  assert.equal(await page.locator('[data-testid="market-intervals"] tbody tr').count(), 0);
  assert.equal(await page.locator('[data-testid="market-trades"] li').count(), 0);
  assert.equal(await page.getByTestId("market-zone").locator("option").count(), 0);
  // Drilling into another operator's device is refused.
  const other = await page.evaluate(async (id) => (await fetch(`/dashboard/api/devices/${id}`)).status, process.env.CPO_B_CHARGER);
  assert.equal(other, 403);
  await page.screenshot({ path: `${shots}/charge-point-operator.png`, fullPage: true });
  await context.close();
});

test("an unauthenticated client is refused by the API and by the hub, and the operator's own key does not sign in", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${url}/dashboard`);
  const statuses = await page.evaluate(async () => [
    (await fetch("/dashboard/api/state")).status,
    (await fetch("/dashboard/api/me")).status,
    (await fetch("/dashboard/hub/negotiate?negotiateVersion=1", { method: "POST" })).status,
  ]);
  assert.deepEqual(statuses, [401, 401, 401]);
  // A key the operator never endorsed for its dashboard is refused; so is the operator's own key: it never signs in a browser.
  for (const key of ["11".repeat(32), process.env.GRID_ROOT_KEY]) {
    await page.getByTestId("operator").fill(process.env.GRID_OPERATOR);
    await page.getByTestId("key").fill(key);
    await page.getByTestId("sign-in-button").click();
    // The click clears the last error at once, so this waits for this attempt's.
    await page.getByTestId("sign-in-error").filter({ hasText: "ViewerKeyUnknown" }).waitFor({ timeout: 15_000 });
  }
  assert.equal(await page.locator("#board").isHidden(), true);
  await page.screenshot({ path: `${shots}/refused.png`, fullPage: true });
  await context.close();
});
