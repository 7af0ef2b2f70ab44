package dev.funnel.terminator;

import static dev.funnel.terminator.Fixture.NAME;
import static dev.funnel.terminator.Fixture.await;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.options.ServeTarget;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.*;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class ScratchBigTest {
  @TempDir Path dir;
  static HttpClient h1, h2;
  static final long GIB = 1L << 30;

  @Test
  @Timeout(value = 300, unit = TimeUnit.SECONDS)
  void big() throws Exception {
    Vertx vertx = FunnelVertx.withCodecs(Vertx.builder().with(FunnelVertx.nodeOptions()).build());
    Fixture fixture = new Fixture(dir);
    Path big = dir.resolve("big.bin");
    try (var raf = new java.io.RandomAccessFile(big.toFile(), "rw")) { raf.setLength(GIB); }
    HttpServer backend = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0)).requestHandler(req -> {
      if (req.path().equals("/up")) {
        long[] n = {0};
        req.handler(b -> n[0] += b.length());
        req.endHandler(v -> req.response().end(String.valueOf(n[0])));
      } else {
        req.response().sendFile(big.toString());
      }
    });
    await(backend.listen());
    TerminatorVerticle t = new TerminatorVerticle(new TerminatorOptions()
        .setTargets(Map.of(443, ServeTarget.parse("http://127.0.0.1:" + backend.actualPort())))
        .setServerNames(Set.of(NAME)).setKeyCert(fixture.keyCert()));
    await(vertx.deployVerticle(t));
    Fixture.Relay relay = Fixture.Relay.start(vertx, t.listeners().get(443));
    int port = relay.address().port();
    for (String v : new String[] {"--http1.1", "--http2"}) {
      for (String[] args : new String[][] {
          {"--data-binary", "@" + big, "-H", "Expect:", "https://" + NAME + ":" + port + "/up"},
          {"-o", "/dev/null", "-w", "%{size_download}", "https://" + NAME + ":" + port + "/down"}}) {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("curl", "-sS", v, "--cacert", fixture.ca.caPemPath().toString(),
            "--resolve", NAME + ":" + port + ":127.0.0.1"));
        cmd.addAll(java.util.List.of(args));
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        System.err.println("BIG " + v + " " + args[args.length - 1] + " -> " + out + " in " + (System.nanoTime() - t0) / 1_000_000 + " ms; heap used "
            + (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) / 1048576 + " MiB of " + Runtime.getRuntime().maxMemory() / 1048576);
      }
    }
    vertx.close();
  }
}
