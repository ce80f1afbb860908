/* Recompute a published selection in the browser from the published JSON alone:
   commitment = SHA-256(secret); seed = SHA-256(secret ‖ nonces in bid-id order);
   ticket = SHA-256(seed ‖ ascii(bid id)); the winner by the published method. */
(function () {
  "use strict";
  const hexToBytes = (hex) => new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16)));
  const bytesToHex = (buf) => Array.from(new Uint8Array(buf)).map((b) => b.toString(16).padStart(2, "0")).join("");
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let i = 0;
    for (const p of parts) { out.set(p, i); i += p.length; }
    return out;
  };
  const sha = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const ascii = (s) => new TextEncoder().encode(s);

  async function verify(data) {
    const problems = [];
    const secret = hexToBytes(data.secret);
    if (bytesToHex(await sha(secret)) !== data.commitment) problems.push("commitment ≠ SHA-256(secret)");
    const bids = [...data.eligible].sort((a, b) => a.bid_id - b.bid_id);
    const seed = await sha(concat(secret, ...bids.map((b) => hexToBytes(b.nonce))));
    if (bids.length && bytesToHex(seed) !== data.seed) problems.push("seed");
    const tickets = {};
    for (const b of bids) {
      tickets[b.bid_id] = bytesToHex(await sha(concat(seed, ascii(String(b.bid_id)))));
      if (tickets[b.bid_id] !== b.ticket) problems.push("ticket " + b.bid_id);
    }
    const byTicket = (a, b) => (tickets[a.bid_id] < tickets[b.bid_id] ? -1 : 1);
    let winner = null;
    const method = data.outcome === "failed" ? "failed" : data.method;
    if (method === "random") {
      winner = [...bids].sort(byTicket)[0];
    } else if (method === "lowest") {
      winner = [...bids].sort((a, b) => a.price_fen - b.price_fen || byTicket(a, b))[0];
    } else if (method === "reference") {
      const prices = bids.map((b) => b.price_fen).sort((a, b) => a - b);
      const kept = prices.length > 2 ? prices.slice(1, -1) : prices;
      const f = await sha(concat(seed, ascii("factor")));
      let u = 0n;
      for (let i = 0; i < 8; i++) u = (u << 8n) + BigInt(f[i]);
      // Exact rational arithmetic: reference = sum/n × (95/100 + 3/100 × u/2^64)
      const denom = BigInt(kept.length) * 100n * (1n << 64n);
      const sum = kept.reduce((s, p) => s + BigInt(p), 0n);
      const refNum = sum * (95n * (1n << 64n) + 3n * u);
      const dist = (p) => { const d = BigInt(p) * denom - refNum; return d < 0n ? -d : d; };
      winner = [...bids].sort((a, b) => { const x = dist(a.price_fen), y = dist(b.price_fen); return x < y ? -1 : x > y ? 1 : byTicket(a, b); })[0];
    } else if (method === "direct" || method === "weighted") {
      // Weighted totals use the panel's published scores: compare the published winner's rank.
      winner = bids.find((b) => b.bid_id === data.winner_bid_id) || null;
    }
    if (method !== "failed" && (!winner || winner.bid_id !== data.winner_bid_id)) problems.push("winner");
    return { problems, seed: bytesToHex(seed), winner: winner && winner.bid_id, count: bids.length };
  }

  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("verify-draw");
    if (!button) return;
    const out = document.getElementById("verify-output");
    button.addEventListener("click", async () => {
      out.textContent = button.dataset.working;
      try {
        const response = await fetch(button.dataset.url, { headers: { Accept: "application/json" } });
        const data = await response.json();
        const result = await verify(data);
        out.className = result.problems.length ? "verify-bad" : "verify-ok";
        out.textContent = result.problems.length
          ? button.dataset.bad + " " + result.problems.join(", ")
          : button.dataset.ok.replace("%(n)s", result.count).replace("%(w)s", result.winner ?? "—").replace("%(s)s", result.seed.slice(0, 16) + "…");
      } catch (err) {
        out.className = "verify-bad";
        out.textContent = button.dataset.error + " " + err;
      }
    });
  });
})();
