// What the browser put on the wire, recorded over the DevTools protocol (CDP) for browser_client.mjs: every
// WebSocket (handshake Origin and status, frames both ways) and every HTTP exchange (CORS preflights included,
// which page-level request events never show).

/** Starts recording on a CDP session; returns the live record that `summarize` reads. */
export async function recordNetwork(cdp) {
  const wire = { sockets: new Map(), requests: new Map() };
  const socket = (id) => wire.sockets.get(id) ?? wire.sockets.set(id, { sent: [], received: [] }).get(id);
  const request = (id) => wire.requests.get(id) ?? wire.requests.set(id, {}).get(id);
  cdp.on('Network.webSocketCreated', ({ requestId, url }) => { socket(requestId).url = url; });
  cdp.on('Network.webSocketWillSendHandshakeRequest', ({ requestId, request: r }) => {
    socket(requestId).origin = header(r.headers, 'origin');
  });
  cdp.on('Network.webSocketHandshakeResponseReceived', ({ requestId, response }) => {
    socket(requestId).status = response.status;
  });
  cdp.on('Network.webSocketFrameSent', ({ requestId, response }) => socket(requestId).sent.push(response.payloadData));
  cdp.on('Network.webSocketFrameReceived', ({ requestId, response }) => {
    socket(requestId).received.push(response.payloadData);
  });
  cdp.on('Network.webSocketClosed', ({ requestId }) => { socket(requestId).closed = true; });
  cdp.on('Network.requestWillBeSent', ({ requestId, request: r }) => {
    Object.assign(request(requestId), { url: r.url, method: r.method, requestHeaders: r.headers });
  });
  // The headers the browser really sent (Origin is added after requestWillBeSent).
  cdp.on('Network.requestWillBeSentExtraInfo', ({ requestId, headers }) => { request(requestId).sentHeaders = headers; });
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    Object.assign(request(requestId), { status: response.status, responseHeaders: response.headers });
  });
  await cdp.send('Network.enable');
  return wire;
}

function header(headers, name) {
  const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

function summarizeSocket(s) {
  const sent = s.sent.map(parse);
  const received = s.received.map(parse);
  const syncs = received.filter((m) => m.messageType === 'data-sync');
  return {
    url: s.url,
    origin: s.origin,
    status: s.status,
    closed: Boolean(s.closed),
    syncUsers: sent.filter((m) => m.messageType === 'data-sync').map((m) => m.data?.user?.keyId),
    replies: syncs.map((m) => ({ eventType: m.data?.eventType, userKeyId: m.data?.userKeyId })),
    pingsSent: sent.filter((m) => m.messageType === 'ping').length,
    pongsReceived: received.filter((m) => m.messageType === 'pong').length,
  };
}

function summarizeRequest(r) {
  const res = (name) => header(r.responseHeaders, name);
  return {
    url: r.url,
    method: r.method,
    status: r.status,
    origin: header(r.sentHeaders ?? r.requestHeaders, 'origin'),
    requestHeaders: header(r.sentHeaders ?? r.requestHeaders, 'access-control-request-headers'),
    allowOrigin: res('access-control-allow-origin'),
    allowMethods: res('access-control-allow-methods'),
    allowHeaders: res('access-control-allow-headers'),
  };
}

/** The record as plain JSON: sockets in creation order, then the preflights and POSTs to the insight endpoint. */
export function summarize(wire) {
  const insight = [...wire.requests.values()].filter((r) => r.url?.endsWith('/api/public/insight/track'));
  return {
    sockets: [...wire.sockets.values()].map(summarizeSocket),
    preflights: insight.filter((r) => r.method === 'OPTIONS').map(summarizeRequest),
    posts: insight.filter((r) => r.method === 'POST').map(summarizeRequest),
  };
}
