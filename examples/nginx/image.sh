# SPDX-License-Identifier: Apache-2.0
# nginx from Debian's nginx-light with its default nginx.conf (master + one worker per CPU, as www-data), a site
# serving static files from the encrypted docroot /srv/www over HTTP and TLS, the TLS key in the encrypted /etc/nginx/tls.

HTTP_PORT=${NGINX_HTTP_PORT:-17080}
TLS_PORT=${NGINX_TLS_PORT:-17443}
PORTS=("$HTTP_PORT" "$TLS_PORT")
# logs and nginx's scratch directories are written at run time: encrypted too
WRAP_ARGS=(--entrypoint /usr/sbin/nginx --arg -g --arg "daemon off;"
  --encrypt /srv/www --encrypt /etc/nginx/tls --encrypt /var/log/nginx --encrypt /var/lib/nginx)
EXERCISED="default nginx.conf: master + worker processes (user www-data); static files (1 KiB, 1 MiB) from an encrypted docroot over HTTP and HTTPS (key in an encrypted path); 200 concurrent requests; access log written encrypted"
SENTINEL=VEIL-NGINX-SENTINEL-7a31
version() { deb_version nginx-light; }

build_root() {
  local root=$1 m
  base_root "$root"
  copy_binary "$root" /usr/sbin/nginx
  cp -a /etc/nginx "$root/etc/"
  for m in /etc/nginx/modules-enabled/*.conf; do
    [ -e "$m" ] || continue
    copy_path "$root" "$(readlink -f "$m")"
    # load_module paths are relative to nginx's prefix, /usr/share/nginx
    for so in $(sed -n 's/^load_module \([^;]*\);/\1/p' "$(readlink -f "$m")"); do copy_binary "$root" "/usr/share/nginx/$so"; done
  done
  rm -f "$root"/etc/nginx/sites-enabled/*
  add_user "$root" www-data 33 33 /var/www
  mkdir -p "$root/srv/www" "$root/etc/nginx/tls" "$root/var/log/nginx" "$root/var/lib/nginx"
  echo "<html><body>$SENTINEL</body></html>" > "$root/srv/www/index.html"
  head -c 1024 /dev/urandom | base64 -w0 | head -c 1024 > "$root/srv/www/1k.txt"
  head -c 1048576 /dev/urandom > "$root/srv/www/1m.bin"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=localhost \
    -keyout "$root/etc/nginx/tls/key.pem" -out "$root/etc/nginx/tls/cert.pem" 2>/dev/null || return 1
  cat > "$root/etc/nginx/sites-enabled/veil-example" <<CONF
server {
	listen 127.0.0.1:$HTTP_PORT;
	listen 127.0.0.1:$TLS_PORT ssl;
	ssl_certificate /etc/nginx/tls/cert.pem;
	ssl_certificate_key /etc/nginx/tls/key.pem;
	root /srv/www;
	index index.html;
}
CONF
}

ready() { curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/"; }

# smoke: the checks against the running server (host_path maps an image path to its encrypted file on the host)
smoke() {
  local tmp; tmp=$(mktemp -d)
  check "nginx serves the encrypted index over HTTP" bash -c "curl -sf http://127.0.0.1:$HTTP_PORT/ | grep -q $SENTINEL"
  check "nginx serves it over TLS with the key from an encrypted path" \
    bash -c "curl -sfk https://127.0.0.1:$TLS_PORT/ | grep -q $SENTINEL"
  curl -sf "http://127.0.0.1:$HTTP_PORT/1m.bin" -o "$tmp/1m.bin"
  check "a 1 MiB static file comes back byte for byte (sendfile from the decrypted copy)" \
    bash -c "[ \"\$(sha256sum < '$tmp/1m.bin')\" = \"\$(sha256sum < '$EXAMPLE_SRC/srv/www/1m.bin')\" ]"
  check "200 concurrent requests all succeed" \
    bash -c "seq 200 | xargs -P 20 -I{} curl -sf -o /dev/null http://127.0.0.1:$HTTP_PORT/1k.txt"
  check "master and worker processes are running" \
    bash -c "pgrep -f 'nginx: master process' >/dev/null && pgrep -f 'nginx: worker process' >/dev/null"
  check "the docroot and TLS key on disk are ciphertext" \
    bash -c "[ -s '$(host_path /srv/www/index.html)' ] && ! grep -qa $SENTINEL '$(host_path /srv/www/index.html)' &&
           [ -s '$(host_path /etc/nginx/tls/key.pem)' ] && ! grep -qa 'PRIVATE KEY' '$(host_path /etc/nginx/tls/key.pem)'"
  check "the access log is written, encrypted" bash -c "[ -s '$(host_path /var/log/nginx/access.log)' ] && ! grep -qa 'GET /' '$(host_path /var/log/nginx/access.log)'"
  rm -rf "$tmp"
}
