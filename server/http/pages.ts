/** Server-rendered pages: plain HTML, no scripts. */
export function homePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tandem</title>
</head>
<body>
<main>
<h1>Tandem</h1>
<p>This is a Tandem sync server. Tandem makes any text box on the web collaborative.</p>
<p>Clients connect to <code>/sync</code> (loro-protocol v1 over WebSocket).</p>
</main>
</body>
</html>
`;
}
