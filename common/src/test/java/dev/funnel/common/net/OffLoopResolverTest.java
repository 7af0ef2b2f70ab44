package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.Future;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Dials by name never wait on an event loop for the system's resolver. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class OffLoopResolverTest {

  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final ExecutorService lookupThread = Executors.newSingleThreadExecutor();
  private final AtomicLong now = new AtomicLong(1_000_000);

  @AfterEach
  void tearDown() {
    lookupThread.shutdownNow();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private OffLoopResolver resolver(OffLoopResolver.Lookup lookup) {
    return new OffLoopResolver(lookup, lookupThread, now::get);
  }

  /** Resolves {@code host} from the loop, as a dial there does; the future of the answer. */
  private Future<InetSocketAddress> resolveOnLoop(OffLoopResolver resolver, String host) throws Exception {
    EventLoop loop = group.next();
    return loop.submit(() -> resolver.getResolver(loop).resolve(InetSocketAddress.createUnresolved(host, 80)))
        .get(5, TimeUnit.SECONDS);
  }

  @Test
  void anIpLiteralResolvesAtOnceWithoutALookup() throws Exception {
    OffLoopResolver resolver = resolver(host -> {
      throw new AssertionError("looked up " + host);
    });
    Future<InetSocketAddress> v4 = resolveOnLoop(resolver, "127.0.0.1");
    Future<InetSocketAddress> v6 = resolveOnLoop(resolver, "::1");

    assertThat(v4.isSuccess()).isTrue();
    assertThat(v4.getNow().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(v6.isSuccess()).isTrue();
    assertThat(v6.getNow().getAddress().isLoopbackAddress()).isTrue();
  }

  /**
   * The point of the class: while the system's resolver takes its time over one name, the loop
   * that asked goes on with its other work; the dial goes on once the answer comes, and connects.
   */
  @Test
  void aSlowLookupLeavesTheLoopFreeAndTheDialConnectsWhenItAnswers() throws Exception {
    CountDownLatch answer = new CountDownLatch(1);
    OffLoopResolver resolver = resolver(host -> {
      try {
        answer.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return LOOPBACK;
    });
    try (ServerSocket target = new ServerSocket(0, 50, LOOPBACK)) {
      EventLoop loop = group.next();
      try {
        dialByName(resolver, loop, target, answer);
      } finally {
        answer.countDown();   // a resolver that blocked the loop must not also block the teardown
      }
    }
  }

  private static void dialByName(OffLoopResolver resolver, EventLoop loop, ServerSocket target, CountDownLatch answer)
      throws Exception {
    ChannelFuture dial = loop.submit(() -> new Bootstrap().group(loop).channel(NioSocketChannel.class)
        .resolver(resolver).handler(new ChannelInboundHandlerAdapter())
        .connect("slow.example", target.getLocalPort())).get(5, TimeUnit.SECONDS);

    // The loop still runs tasks while the lookup is stuck.
    assertThat(loop.submit(() -> "ran").get(5, TimeUnit.SECONDS)).isEqualTo("ran");
    assertThat(dial.isDone()).as("no answer yet, no connection yet").isFalse();

    answer.countDown();
    assertThat(dial.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(dial.isSuccess()).as(String.valueOf(dial.cause())).isTrue();
    Channel channel = dial.channel();
    assertThat(((InetSocketAddress) channel.remoteAddress()).getPort()).isEqualTo(target.getLocalPort());
    channel.close().syncUninterruptibly();
  }

  @Test
  void aNameIsLookedUpOncePerTtlThenAgain() throws Exception {
    AtomicInteger lookups = new AtomicInteger();
    OffLoopResolver resolver = resolver(host -> {
      lookups.incrementAndGet();
      return LOOPBACK;
    });
    assertThat(resolveOnLoop(resolver, "web.lan").await(5, TimeUnit.SECONDS)).isTrue();
    Future<InetSocketAddress> cached = resolveOnLoop(resolver, "web.lan");
    assertThat(cached.isSuccess()).as("from the cache, on the loop, at once").isTrue();
    assertThat(lookups.get()).isEqualTo(1);

    now.addAndGet(OffLoopResolver.TTL_MILLIS);
    Future<InetSocketAddress> again = resolveOnLoop(resolver, "web.lan");
    assertThat(again.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(again.isSuccess()).isTrue();
    assertThat(lookups.get()).isEqualTo(2);
  }

  @Test
  void aNameThatDoesNotResolveFailsTheDialAndIsAskedAgainNextTime() throws Exception {
    AtomicInteger lookups = new AtomicInteger();
    OffLoopResolver resolver = resolver(host -> {
      lookups.incrementAndGet();
      throw new UnknownHostException(host + ": Name or service not known");
    });
    for (int i = 0; i < 2; i++) {
      Future<InetSocketAddress> failed = resolveOnLoop(resolver, "nowhere.invalid");
      assertThat(failed.await(5, TimeUnit.SECONDS)).isTrue();
      assertThat(failed.cause()).isInstanceOf(UnknownHostException.class).hasMessageContaining("nowhere.invalid");
    }
    assertThat(lookups.get()).as("failures are not cached").isEqualTo(2);
    assertThat(resolver.cached()).isZero();
  }

  @Test
  void whenTooManyLookupsWaitADialFailsAtOnceSayingSo() throws Exception {
    OffLoopResolver resolver = new OffLoopResolver(host -> LOOPBACK, task -> {
      throw new RejectedExecutionException("full");
    }, now::get);
    Future<InetSocketAddress> refused = resolveOnLoop(resolver, "web.lan");
    assertThat(refused.isDone()).as("at once").isTrue();
    assertThat(refused.cause()).isInstanceOf(UnknownHostException.class)
        .hasMessageContaining("web.lan").hasMessageContaining("too many name lookups waiting");
  }
}
