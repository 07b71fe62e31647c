// Configurations of the incumbents the bench compares wspass with, each a plain reverse proxy for
// WebSocket and HTTP/1.1 in front of the bench's echo backend, tuned as a careful operator would for
// this job (one worker or thread, pinned like wspass; no access log; tunnel timeouts of an hour so an
// idle tunnel is never cut inside a run; enough file descriptors for the idle scenario's connections,
// within the 20,000 per process these machines allow: a tunnel holds two, and nginx counts both of a
// tunnel's connections against worker_connections, so 5,000 idle tunnels need more than 10,000). Pure.

/** nginx: one worker process, upstream keep-alive for HTTP, `Upgrade`/`Connection` passed for tunnels. */
export function nginxConfig(o: { dir: string; port: number; backendPort: number }): string {
  return `# Written by the wspass bench (--compare nginx).
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 19500;
user root;
pid ${o.dir}/nginx.pid;
error_log ${o.dir}/error.log warn;
events { worker_connections 19000; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${o.dir}/body;
  proxy_temp_path ${o.dir}/proxy;
  fastcgi_temp_path ${o.dir}/fastcgi;
  uwsgi_temp_path ${o.dir}/uwsgi;
  scgi_temp_path ${o.dir}/scgi;
  upstream backend { server 127.0.0.1:${o.backendPort}; keepalive 64; }
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  server {
    listen 127.0.0.1:${o.port} backlog=4096;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      proxy_buffering off;
    }
  }
}
`;
}

/** HAProxy: one thread, HTTP mode (it sees the Upgrade and switches to a tunnel after the 101). */
export function haproxyConfig(o: { port: number; backendPort: number }): string {
  return `# Written by the wspass bench (--compare haproxy).
global
  nbthread 1
  maxconn 9500
defaults
  mode http
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
  timeout http-keep-alive 1h
frontend bench
  bind 127.0.0.1:${o.port} backlog 4096
  default_backend echo
backend echo
  http-reuse always
  server b 127.0.0.1:${o.backendPort} maxconn 9500
`;
}
