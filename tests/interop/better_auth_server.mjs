// A real Better Auth server (email and password, JWT plugin, session cache as JWT) for the
// interop tests, on a free 127.0.0.1 port and a PostgreSQL database of its own.
//
// Environment: BETTER_AUTH_SECRET (required), PG_ADMIN_URL (default: postgres on
// 127.0.0.1:5432). Prints one JSON line {"url": ...} once it serves; SIGTERM stops it and
// drops its database. Besides Better Auth's own routes under /api/auth it answers
// GET /health and POST /test/rotate-key (a new signing key, as a rotation makes).

import { randomBytes } from "node:crypto";
import http from "node:http";

import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { createJwk, jwt } from "better-auth/plugins/jwt";
import pg from "pg";

const secret = process.env.BETTER_AUTH_SECRET;
if (!secret) {
  console.error("BETTER_AUTH_SECRET is required");
  process.exit(2);
}
const adminUrl = process.env.PG_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const database = `todo_interop_${randomBytes(6).toString("hex")}`;

async function admin(statement) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

await admin(`CREATE DATABASE ${database}`);
const databaseUrl = new URL(adminUrl);
databaseUrl.pathname = `/${database}`;
const pool = new pg.Pool({ connectionString: databaseUrl.toString() });

const server = http.createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const baseURL = `http://127.0.0.1:${server.address().port}`;

const jwtOptions = { sessionCookieCache: true };
const auth = betterAuth({
  baseURL,
  secret,
  database: pool,
  emailAndPassword: { enabled: true },
  session: { cookieCache: { enabled: true, strategy: "jwt", maxAge: 300 } },
  plugins: [jwt(jwtOptions)],
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const handler = toNodeHandler(auth);
server.on("request", async (request, response) => {
  try {
    if (request.method === "GET" && request.url === "/health") {
      response.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
    } else if (request.method === "POST" && request.url === "/test/rotate-key") {
      const key = await createJwk({ context: await auth.$context }, jwtOptions);
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ kid: key.id }));
    } else {
      await handler(request, response);
    }
  } catch (error) {
    console.error(error);
    if (!response.headersSent) response.writeHead(500);
    response.end();
  }
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await pool.end();
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

console.log(JSON.stringify({ url: baseURL, database }));
