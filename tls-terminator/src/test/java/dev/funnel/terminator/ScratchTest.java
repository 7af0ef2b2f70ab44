package dev.funnel.terminator;

import static dev.funnel.terminator.Fixture.NAME;
import static dev.funnel.terminator.Fixture.await;

import dev.funnel.common.FunnelVertx;
import dev.funnel.common.options.ServeTarget;
import io.vertx.core.Vertx;
import io.vertx.core.http.*;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class ScratchTest {
  @TempDir Path dir;
  static HttpClient h2;

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void scratch() throws Exception {
    Vertx vertx = FunnelVertx.withCodecs(Vertx.builder().with(FunnelVertx.nodeOptions()).build());
    Fixture fixture = new Fixture(dir);
    Fixture.Backend backend = Fixture.Backend.start(vertx, false, null);
    TerminatorVerticle t = new TerminatorVerticle(new TerminatorOptions()
        .setTargets(Map.of(443, ServeTarget.parse("http://127.0.0.1:" + backend.port())))
        .setServerNames(Set.of(NAME)).setKeyCert(fixture.keyCert()).setBackendResponseTimeoutMillis(300));
    await(vertx.deployVerticle(t));
    Fixture.Relay relay = Fixture.Relay.start(vertx, t.listeners().get(443));
    h2 = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustOptions(fixture.trust())
        .setProtocolVersion(HttpVersion.HTTP_2).setUseAlpn(true));
    var f = h2.request(new RequestOptions().setServer(relay.address()).setHost(NAME).setPort(443).setURI("/"))
        .compose(req -> req.send().compose(resp -> {
          System.err.println("SCRATCH status " + resp.statusCode() + " " + resp.headers());
          resp.handler(b -> System.err.println("SCRATCH chunk " + b));
          resp.exceptionHandler(e -> System.err.println("SCRATCH exc " + e));
          return resp.end();
        }));
    var reg = io.vertx.micrometer.backends.BackendRegistries.getDefaultNow(); try { f.await(5, TimeUnit.SECONDS); System.err.println("SCRATCH done"); Thread.sleep(500); reg.find("funnel.terminator.requests").counters().forEach(c -> System.err.println("SCRATCH " + c.getId() + " " + c.count())); } catch (Exception e) { System.err.println("SCRATCH " + e); }
    vertx.close();
  }
}
