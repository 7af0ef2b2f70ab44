package dev.funnel.dns;

import dev.funnel.common.bus.Addresses;
import dev.funnel.common.bus.NameQuery;
import dev.funnel.common.bus.NameStatus;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What the registry says about names ({@link Addresses#REGISTRY_NAME}), cached per name for
 * {@link DnsOptions#getCacheMillis()} (at most {@link DnsOptions#getCacheMaxNames()} names), one request
 * in flight per name, a name forgotten when its routes change. Used on the verticle's event loop only.
 */
final class NameLookups {

  private static final Logger LOG = System.getLogger(DnsVerticle.class.getName());

  private final Vertx vertx;
  private final DnsOptions options;
  private final Map<String, Cached> cache = new HashMap<>();
  private final Map<String, Future<NameStatus>> inFlight = new HashMap<>();
  /** Rises on every invalidation, so a lookup that raced one is not cached. */
  private long generation;

  private record Cached(NameStatus status, long expiresAtNanos) {
  }

  NameLookups(Vertx vertx, DnsOptions options) {
    this.vertx = vertx;
    this.options = options;
  }

  /** What the registry says about each name; a name it did not answer for is left out (SERVFAIL). */
  Future<Map<String, NameStatus>> lookup(List<String> names) {
    if (names.isEmpty()) {
      return Future.succeededFuture(Map.of());
    }
    List<Future<NameStatus>> each = names.stream().map(this::lookup).toList();
    return Future.join(each).transform(ar -> {
      Map<String, NameStatus> found = new LinkedHashMap<>();
      for (int i = 0; i < names.size(); i++) {
        if (each.get(i).succeeded()) {
          found.put(names.get(i), each.get(i).result());
        }
      }
      return Future.succeededFuture(found);
    });
  }

  private Future<NameStatus> lookup(String name) {
    Cached cached = cache.get(name);
    long now = System.nanoTime();
    if (cached != null && now - cached.expiresAtNanos() < 0) {
      return Future.succeededFuture(cached.status());
    }
    Future<NameStatus> running = inFlight.get(name);
    if (running != null) {
      return running;
    }
    long asked = generation;
    Promise<NameStatus> promise = Promise.promise();
    inFlight.put(name, promise.future());
    vertx.eventBus().<Object>request(Addresses.REGISTRY_NAME, new NameQuery(name),
            new DeliveryOptions().setSendTimeout(options.getLookupTimeoutMillis()))
        .map(NameLookups::status)
        .onComplete(ar -> {
          inFlight.remove(name);
          if (ar.succeeded() && ar.result() != null) {
            if (asked == generation) {
              if (cache.size() >= options.getCacheMaxNames()) {
                cache.clear();
              }
              cache.put(name, new Cached(ar.result(), System.nanoTime()
                  + TimeUnit.MILLISECONDS.toNanos(options.getCacheMillis())));
            }
            promise.complete(ar.result());
          } else {
            LOG.log(Level.DEBUG, "dns lookup of {0}: {1}; answering SERVFAIL", name,
                ar.failed() ? ar.cause().toString() : "no answer");
            promise.fail(ar.failed() ? ar.cause() : new IllegalStateException("no answer"));
          }
        });
    return promise.future();
  }

  private static NameStatus status(Message<Object> reply) {
    Object body = reply.body();
    if (body instanceof NameStatus status) {
      return status;
    }
    return body instanceof JsonObject json ? NameStatus.fromJson(json) : null;
  }

  /** Forgets what is cached for {@code host} (null: every name); a lookup running now is not cached. */
  void invalidate(String host) {
    generation++;
    if (host == null) {
      cache.clear();
    } else {
      String key = host.toLowerCase(Locale.ROOT);
      cache.remove(key.endsWith(".") ? key.substring(0, key.length() - 1) : key);
    }
  }
}
