package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link DataPlaneListener} with real sockets: one listening socket per loop on one port, each
 * accepted connection on the loop that accepted it, and a port that is taken refused as with one
 * socket (SO_REUSEPORT must not let a second listener share it silently).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DataPlaneListenerTest {

  private static final int CLIENTS = 200;

  private final List<DataPlaneListener> listeners = new ArrayList<>();
  private final List<Socket> clients = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (Socket client : clients) {
      client.close();
    }
    for (DataPlaneListener listener : listeners) {
      listener.close().await(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void everyLoopAcceptsAndKeepsWhatItAccepts() throws Exception {
    Assumptions.assumeTrue(System.getProperty("os.name", "").toLowerCase().contains("linux"), "SO_REUSEPORT spreads on Linux");
    Assumptions.assumeTrue(DataPlane.eventLoops() > 1, "one loop: one socket");
    Map<Channel, EventLoop[]> accepted = new ConcurrentHashMap<>();
    DataPlaneListener listener = bind(new HostPort("127.0.0.1", 0), accepted);

    assertThat(listener.sockets()).hasSize(DataPlane.eventLoops());
    Set<EventLoop> socketLoops = new HashSet<>();
    for (Channel socket : listener.sockets()) {
      assertThat(((InetSocketAddress) socket.localAddress()).getPort()).isEqualTo(listener.port());
      socketLoops.add(socket.eventLoop());
    }
    assertThat(socketLoops).containsExactlyInAnyOrderElementsOf(DataPlane.loops());

    for (int i = 0; i < CLIENTS; i++) {
      clients.add(new Socket("127.0.0.1", listener.port()));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (accepted.size() < CLIENTS && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(accepted).hasSize(CLIENTS);
    Set<EventLoop> used = new HashSet<>();
    accepted.forEach((child, loops) -> {
      assertThat(loops[0]).as("the loop a connection runs on is its listening socket's").isSameAs(loops[1]);
      used.add(loops[0]);
    });
    assertThat(used).as(CLIENTS + " connections from as many source ports, hashed over %d sockets", DataPlane.eventLoops())
        .containsExactlyInAnyOrderElementsOf(DataPlane.loops());
  }

  @Test
  void aTakenPortIsRefusedAsWithOneSocket() throws Exception {
    DataPlaneListener first = bind(new HostPort("127.0.0.1", 0), new ConcurrentHashMap<>());
    HostPort taken = new HostPort("127.0.0.1", first.port());

    Throwable refused = org.assertj.core.api.Assertions.catchThrowable(() -> bind(taken, new ConcurrentHashMap<>()));
    while (refused != null && refused.getCause() != null && !(refused instanceof BindException)) {
      refused = refused.getCause();
    }
    assertThat(refused).isInstanceOf(BindException.class).hasMessageContaining("in use").hasMessageContaining(taken.toString());

    clients.add(new Socket("127.0.0.1", first.port()));   // the first one still answers
  }

  @Test
  void closeStopsEverySocket() throws Exception {
    DataPlaneListener listener = bind(new HostPort("127.0.0.1", 0), new ConcurrentHashMap<>());
    listener.close().await(5, TimeUnit.SECONDS);

    for (Channel socket : listener.sockets()) {
      assertThat(socket.isOpen()).isFalse();
    }
    // NIO closes a listening socket registered with a selector at the loop's next select, after the
    // close future: wait (bounded) for connects to be refused rather than expecting it at once
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    boolean refused = false;
    while (!refused && System.nanoTime() < deadline) {
      try (Socket stillThere = new Socket("127.0.0.1", listener.port())) {
        Thread.sleep(20);
      } catch (ConnectException e) {
        refused = true;
      }
    }
    assertThat(refused).as("connects to a closed listener's port are refused").isTrue();
    DataPlaneListener again = bind(new HostPort("127.0.0.1", listener.port()), new ConcurrentHashMap<>());
    assertThat(again.port()).isEqualTo(listener.port());
  }

  /** Records, per accepted child, the loop it runs on and its listening socket's loop. */
  private DataPlaneListener bind(HostPort at, Map<Channel, EventLoop[]> accepted) throws Exception {
    ServerBootstrap template = new ServerBootstrap().childHandler(new ChannelInboundHandlerAdapter() {
      @Override
      public boolean isSharable() {
        return true;
      }

      @Override
      public void channelActive(ChannelHandlerContext ctx) {
        Channel child = ctx.channel();
        accepted.put(child, new EventLoop[] {child.eventLoop(), child.parent().eventLoop()});
      }
    });
    DataPlaneListener listener = DataPlaneListener.bindEveryLoop(template, at).await(5, TimeUnit.SECONDS);
    listeners.add(listener);
    return listener;
  }
}
