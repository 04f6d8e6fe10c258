# SPDX-License-Identifier: Apache-2.0
# Debian's OpenJDK 17 (the headless runtime as packaged: lib/modules, CDS archive, security configuration) running
# a jar built with javac at image build time, whose classes are encrypted: an HTTP service on the JDK's HttpServer
# with a thread pool, as user 1000.

PORT=${JAVA_PORT:-17400}
PORTS=("$PORT")
NEEDS_PROC=1
JAVA_HOME_IMAGE=/usr/lib/jvm/java-17-openjdk-amd64
WRAP_ARGS=(--entrypoint "$JAVA_HOME_IMAGE/bin/java" --arg -Xmx256m --arg -jar --arg /app/app.jar
  -w /app --user 1000:1000 --encrypt /app --encrypt /data)
EXERCISED="OpenJDK 17 HotSpot (JIT, GC and pool threads; CDS archive; perf data in /tmp) running a jar with encrypted classes; HttpServer with an 8-thread pool; 200 concurrent requests; writes and reads an encrypted file; user 1000"
SENTINEL=VEIL-JAVA-SENTINEL-2f6c
version() { deb_version openjdk-17-jre-headless; }

build_root() {
  local root=$1 jh=$JAVA_HOME_IMAGE f
  base_root "$root"
  add_user "$root" app 1000 1000 /app
  # the runtime as Debian ships it, without the JDK's tools, sources and module files
  mkdir -p "$root$jh/bin"
  cp -a "$jh/lib" "$jh/conf" "$jh/release" "$root$jh/"
  rm -f "$root$jh/lib/src.zip" "$root$jh/lib/ct.sym"
  copy_path "$root" "$jh/bin/java"
  for f in "$root$jh"/lib/*.so "$root$jh"/lib/server/*.so "$root$jh/bin/java"; do copy_binary "$root" "${f#"$root"}"; done
  copy_binary "$root" "$jh/bin/java"
  # the configuration the runtime's symlinks point to
  cp -a /etc/java-17-openjdk "$root/etc/"
  [ -f /etc/ssl/certs/java/cacerts ] && { mkdir -p "$root/etc/ssl/certs/java"; cp /etc/ssl/certs/java/cacerts "$root/etc/ssl/certs/java/"; }
  mkdir -p "$root/app" "$root/data"
  chown 1000:1000 "$root/data"
  local src; src=$(mktemp -d)
  mkdir -p "$src/veil/example"
  cat > "$src/veil/example/Main.java" <<JAVA
package veil.example;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

public class Main {
    static final String SECRET = "$SENTINEL";
    public static void main(String[] args) throws Exception {
        Path state = Paths.get("/data/state.txt");
        Files.writeString(state, SECRET + " written by java\n", StandardCharsets.UTF_8);
        AtomicLong hits = new AtomicLong();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", $PORT), 128);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.createContext("/", exchange -> {
            String body = "hello from java " + System.getProperty("java.version") + " hits " + hits.incrementAndGet()
                + " " + Files.readString(state, StandardCharsets.UTF_8);
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        server.start();
    }
}
JAVA
  printf 'Main-Class: veil.example.Main\n' > "$src/manifest.txt"
  (cd "$src" && "$jh/bin/javac" -d classes veil/example/Main.java && "$jh/bin/jar" cfm "$root/app/app.jar" manifest.txt -C classes .) || return 1
  rm -rf "$src"
}

ready() { curl -sf -o /dev/null "http://127.0.0.1:$PORT/"; }

smoke() {
  check "java answers from its encrypted jar, with a value read from an encrypted file" \
    bash -c "curl -sf http://127.0.0.1:$PORT/ | grep -q 'hello from java 17.*$SENTINEL written by java'"
  check "200 concurrent requests succeed" bash -c "seq 200 | xargs -P 20 -I{} curl -sf -o /dev/null http://127.0.0.1:$PORT/"
  check "the jar and the file it wrote are ciphertext on disk" \
    bash -c "! grep -qa -e 'veil/example' -e 'Main-Class' '$(host_path /app/app.jar)' && [ -s '$(host_path /data/state.txt)' ] && ! grep -qa $SENTINEL '$(host_path /data/state.txt)'"
}
