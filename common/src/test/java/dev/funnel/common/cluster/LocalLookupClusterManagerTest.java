package dev.funnel.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Completable;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.net.NetServer;
import io.vertx.core.spi.cluster.ClusterManager;
import io.vertx.core.spi.cluster.NodeInfo;
import io.vertx.core.spi.cluster.RegistrationInfo;
import io.vertx.core.spi.cluster.RegistrationListener;
import io.vertx.core.spi.cluster.RegistrationUpdateEvent;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The event bus's lookups through {@link LocalLookupClusterManager}, over a stand-in for the
 * Hazelcast manager that counts what it is asked: node infos and handler lists are asked once and
 * then kept (handler lists following the update events), and a member whose event-bus port refuses
 * connections fails the lookup with a {@link ReplyException} the event bus hands to waiting requests.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class LocalLookupClusterManagerTest {

  private Vertx vertx;
  private final Map<String, NodeInfo> infos = new ConcurrentHashMap<>();
  private final Map<String, List<RegistrationInfo>> handlers = new ConcurrentHashMap<>();
  private final AtomicInteger infoLookups = new AtomicInteger();
  private final AtomicInteger handlerLookups = new AtomicInteger();
  private final AtomicReference<RegistrationListener> listener = new AtomicReference<>();
  /** What the event bus's node selector was told, newest last. */
  private final List<RegistrationUpdateEvent> toldTheEventBus = new CopyOnWriteArrayList<>();
  private LocalLookupClusterManager manager;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    ClusterManager standIn = (ClusterManager) Proxy.newProxyInstance(getClass().getClassLoader(),
        new Class<?>[] {ClusterManager.class}, (proxy, method, args) -> switch (method.getName()) {
          case "getNodeInfo" -> {
            if (args == null) {
              yield null;
            }
            infoLookups.incrementAndGet();
            @SuppressWarnings("unchecked")
            Completable<NodeInfo> done = (Completable<NodeInfo>) args[1];
            NodeInfo info = infos.get((String) args[0]);
            if (info == null) {
              done.fail(new IllegalStateException("Not a member of the cluster"));
            } else {
              done.succeed(info);
            }
            yield null;
          }
          case "getRegistrations" -> {
            handlerLookups.incrementAndGet();
            @SuppressWarnings("unchecked")
            Completable<List<RegistrationInfo>> done = (Completable<List<RegistrationInfo>>) args[1];
            done.succeed(handlers.getOrDefault((String) args[0], List.of()));
            yield null;
          }
          case "registrationListener" -> {
            listener.set((RegistrationListener) args[0]);
            yield null;
          }
          case "getNodeId" -> "self";
          case "getNodes" -> List.of("self", "other");
          case "hashCode" -> System.identityHashCode(proxy);
          case "equals" -> proxy == args[0];
          case "toString" -> "stand-in";
          default -> null;
        });
    manager = new LocalLookupClusterManager(standIn, 1_000);
    manager.init(vertx);
    manager.registrationListener(new RegistrationListener() {
      @Override
      public void registrationsUpdated(RegistrationUpdateEvent event) {
        toldTheEventBus.add(event);
      }

      @Override
      public boolean wantsUpdatesFor(String address) {
        return false;
      }
    });
  }

  @AfterEach
  void tearDown() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static <T> T await(java.util.function.Consumer<Completable<T>> call) throws Exception {
    Promise<T> promise = Promise.promise();
    call.accept(promise);
    return promise.future().await(10, TimeUnit.SECONDS);
  }

  private static Throwable awaitFailure(java.util.function.Consumer<Completable<NodeInfo>> call) throws Exception {
    Promise<NodeInfo> promise = Promise.promise();
    call.accept(promise);
    try {
      promise.future().await(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      return promise.future().cause();
    }
    throw new AssertionError("the lookup succeeded");
  }

  @Test
  void aMemberWhoseEventBusRefusesConnectionsFailsTheLookupWithAReplyError() throws Exception {
    int closed;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = socket.getLocalPort();
    }
    infos.put("other", new NodeInfo("127.0.0.1", closed, null));
    Throwable failure = awaitFailure(done -> manager.getNodeInfo("other", done));
    assertThat(failure).isInstanceOf(ReplyException.class);
    assertThat(((ReplyException) failure).failureType()).isEqualTo(ReplyFailure.ERROR);
    assertThat(failure.getMessage()).contains("other").contains(Integer.toString(closed));
  }

  @Test
  void aMemberThatAcceptsIsHandedOutAndItsNodeInfoAskedOnce() throws Exception {
    NetServer server = vertx.createNetServer().connectHandler(socket -> { })
        .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    try {
      NodeInfo info = new NodeInfo("127.0.0.1", server.actualPort(), null);
      infos.put("other", info);
      assertThat(LocalLookupClusterManagerTest.<NodeInfo>await(done -> manager.getNodeInfo("other", done)))
          .isEqualTo(info);
      infos.clear();  // as when the map holding it cannot be read: the kept copy answers
      assertThat(LocalLookupClusterManagerTest.<NodeInfo>await(done -> manager.getNodeInfo("other", done)))
          .isEqualTo(info);
      assertThat(infoLookups).hasValue(1);
      manager.memberLeft("other");
      assertThat(awaitFailure(done -> manager.getNodeInfo("other", done))).hasMessageContaining("Not a member");
    } finally {
      server.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void handlersOfAnAddressAreLookedUpOnceThenFollowTheUpdates() throws Exception {
    RegistrationInfo one = new RegistrationInfo("other", 1, false);
    RegistrationInfo two = new RegistrationInfo("third", 2, false);
    handlers.put("funnel.registry.resolve", List.of(one));
    manager.prefetch(List.of("funnel.registry.resolve"));
    assertThat(handlerLookups).hasValue(1);
    assertThat(LocalLookupClusterManagerTest.<List<RegistrationInfo>>await(
        done -> manager.getRegistrations("funnel.registry.resolve", done))).containsExactly(one);
    assertThat(handlerLookups).as("answered from the kept copy").hasValue(1);

    // A Funnel address is followed even though the event bus itself does not want its updates yet.
    assertThat(listener.get().wantsUpdatesFor("funnel.gateway.gw-9.open")).isTrue();
    assertThat(listener.get().wantsUpdatesFor("someone.else")).isFalse();
    listener.get().registrationsUpdated(new RegistrationUpdateEvent("funnel.registry.resolve", List.of(one, two)));
    assertThat(LocalLookupClusterManagerTest.<List<RegistrationInfo>>await(
        done -> manager.getRegistrations("funnel.registry.resolve", done))).containsExactly(one, two);
    assertThat(handlerLookups).hasValue(1);
  }

  private List<RegistrationInfo> handlersOf(String address) throws Exception {
    return LocalLookupClusterManagerTest.<List<RegistrationInfo>>await(done -> manager.getRegistrations(address, done));
  }

  private List<RegistrationInfo> lastToldFor(String address) {
    for (int i = toldTheEventBus.size() - 1; i >= 0; i--) {
      if (toldTheEventBus.get(i).address().equals(address)) {
        return toldTheEventBus.get(i).registrations();
      }
    }
    throw new AssertionError("the event bus was told nothing about " + address);
  }

  @Test
  void aMemberThatRefusedIsTakenOutOfEveryHandlerListAtOnceAndGetsItsHandlersBackWhenItAcceptsAgain()
      throws Exception {
    NetServer server = vertx.createNetServer().connectHandler(socket -> { })
        .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    int port = server.actualPort();
    server.close().await(10, TimeUnit.SECONDS);
    RegistrationInfo dead = new RegistrationInfo("other", 1, false);
    RegistrationInfo live = new RegistrationInfo("third", 2, false);
    handlers.put("funnel.registry.resolve", List.of(dead, live));
    assertThat(handlersOf("funnel.registry.resolve")).containsExactly(dead, live);
    infos.put("other", new NodeInfo("127.0.0.1", port, null));

    awaitFailure(done -> manager.getNodeInfo("other", done));
    assertThat(lastToldFor("funnel.registry.resolve")).as("told at once, without waiting for the cluster")
        .containsExactly(live);
    assertThat(handlersOf("funnel.registry.resolve")).containsExactly(live);
    // An update from the cluster that still names it (as several do while a member dies) is passed on without it.
    listener.get().registrationsUpdated(new RegistrationUpdateEvent("funnel.registry.resolve", List.of(dead, live)));
    assertThat(lastToldFor("funnel.registry.resolve")).containsExactly(live);

    // It was only slow: once its port accepts again (probed every probe timeout), its handlers are back.
    NetServer again = vertx.createNetServer().connectHandler(socket -> { })
        .listen(port, "127.0.0.1").await(10, TimeUnit.SECONDS);
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (lastToldFor("funnel.registry.resolve").size() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(lastToldFor("funnel.registry.resolve")).containsExactly(dead, live);
      assertThat(handlersOf("funnel.registry.resolve")).containsExactly(dead, live);
    } finally {
      again.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aMemberThatLeftIsTakenOutOfEveryHandlerListUntilTheClusterForgetsIt() throws Exception {
    RegistrationInfo gone = new RegistrationInfo("other", 1, false);
    RegistrationInfo live = new RegistrationInfo("third", 2, false);
    handlers.put("funnel.registry.resolve", List.of(gone, live));
    handlers.put("funnel.gateway.gw-1.open", List.of(gone));
    manager.prefetch(List.of("funnel.registry.resolve", "funnel.gateway.gw-1.open"));

    // vertx-hazelcast, on a member's departure, says the registrations were lost (having already
    // removed the member's entries) before it says who left: the lists are fetched again, and kept.
    handlers.put("funnel.registry.resolve", List.of(live));
    handlers.remove("funnel.gateway.gw-1.open");
    listener.get().registrationsLost();
    assertThat(handlerLookups).as("each kept address fetched again").hasValue(4);
    assertThat(lastToldFor("funnel.registry.resolve")).containsExactly(live);
    // Hazelcast may still list it for a while (its map partitions may have been the dead member's).
    handlers.put("funnel.registry.resolve", List.of(gone, live));
    handlers.put("funnel.gateway.gw-1.open", List.of(gone));
    listener.get().registrationsLost();

    manager.memberLeft("other");
    assertThat(lastToldFor("funnel.registry.resolve")).containsExactly(live);
    assertThat(lastToldFor("funnel.gateway.gw-1.open")).isEmpty();
    assertThat(handlersOf("funnel.gateway.gw-1.open")).isEmpty();
    listener.get().registrationsUpdated(new RegistrationUpdateEvent("funnel.registry.resolve", List.of(gone, live)));
    assertThat(lastToldFor("funnel.registry.resolve")).containsExactly(live);
    listener.get().registrationsUpdated(new RegistrationUpdateEvent("funnel.registry.resolve", List.of(live)));
    assertThat(handlersOf("funnel.registry.resolve")).containsExactly(live);

    // Back with the same id (a split cluster merged again): its handlers count again.
    listener.get().registrationsUpdated(new RegistrationUpdateEvent("funnel.registry.resolve", List.of(gone, live)));
    assertThat(lastToldFor("funnel.registry.resolve")).containsExactly(live);
    manager.memberAdded("other");
    assertThat(lastToldFor("funnel.registry.resolve")).containsExactly(gone, live);
  }
}
