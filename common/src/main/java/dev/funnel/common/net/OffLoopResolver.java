package dev.funnel.common.net;

import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.InetNameResolver;
import io.netty.resolver.InetSocketAddressResolver;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Name resolution for the data plane's dials (a node's local targets and gateway links, a
 * frontend's gateway links) that never blocks an event loop.
 *
 * <p>Netty's default resolver calls {@code InetAddress.getByName} on the loop that dials: a target
 * named {@code tcp://nas.lan:22} or a gateway named by host stalled every tunnel on that loop for as
 * long as the system's resolver took on a cache miss (seconds when DNS is unreachable). Here an IP
 * literal resolves at once; a name resolved in the last {@link #TTL_MILLIS} comes from this cache,
 * on the loop; any other name is looked up with the system's resolver ({@code /etc/hosts}, DNS,
 * mDNS where the system has it: the same answers as before) on a few threads of its own, and the
 * dial goes on when the answer comes. At most {@link #MAX_WAITING} lookups wait for those threads;
 * beyond that a dial fails at once ("too many name lookups waiting"), so a resolver that hangs costs
 * bounded memory and threads, never a loop. Failures are not cached: the next dial asks again.
 *
 * <p>Hand-written because Netty has no resolver that runs the system's lookup off the loop: its DNS
 * resolver ({@code netty-resolver-dns}) is non-blocking but knows neither nsswitch nor mDNS, which
 * names on a home network ({@code printer.local}) depend on.
 */
public final class OffLoopResolver extends AddressResolverGroup<InetSocketAddress> {

  /** How long a resolved name is used without asking again: the JDK's own default for its cache. */
  public static final long TTL_MILLIS = 30_000;
  /** Lookup threads (a lookup of one name that is already under way is shared by the JDK). */
  static final int THREADS = 4;
  /** Lookups waiting for a thread before dials fail at once. */
  static final int MAX_WAITING = 1024;
  /** Names kept; past this the cache starts over (names come from a process's options: a few). */
  static final int MAX_CACHED = 1024;

  /** The one the data plane uses. */
  public static final OffLoopResolver INSTANCE = new OffLoopResolver(OffLoopResolver::systemLookup,
      lookupThreads(), System::currentTimeMillis);

  /** A blocking lookup of one name (the system's: {@code InetAddress.getByName}). */
  @FunctionalInterface
  interface Lookup {
    InetAddress lookup(String host) throws UnknownHostException;
  }

  private record Cached(InetAddress address, long at) {
  }

  private final Lookup lookup;
  private final Executor threads;
  private final LongSupplier clockMillis;
  private final Map<String, Cached> cache = new ConcurrentHashMap<>();

  OffLoopResolver(Lookup lookup, Executor threads, LongSupplier clockMillis) {
    this.lookup = lookup;
    this.threads = threads;
    this.clockMillis = clockMillis;
  }

  @Override
  protected AddressResolver<InetSocketAddress> newResolver(EventExecutor loop) {
    return new InetSocketAddressResolver(loop, new Names(loop));
  }

  /** How many names its cache holds now (tests). */
  int cached() {
    return cache.size();
  }

  private static InetAddress systemLookup(String host) throws UnknownHostException {
    return InetAddress.getByName(host);
  }

  private static Executor lookupThreads() {
    ThreadPoolExecutor pool = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(MAX_WAITING), new DefaultThreadFactory("funnel-resolve", true));
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /** One loop's resolver: literal or cached on the loop, else a lookup on {@link #threads}. */
  private final class Names extends InetNameResolver {

    Names(EventExecutor loop) {
      super(loop);
    }

    @Override
    protected void doResolve(String host, Promise<InetAddress> promise) {
      byte[] literal = NetUtil.createByteArrayFromIpAddressString(host);
      if (literal != null) {
        try {
          promise.trySuccess(InetAddress.getByAddress(host, literal));
        } catch (UnknownHostException impossible) {
          promise.tryFailure(impossible);   // only for a byte array of a wrong length
        }
        return;
      }
      Cached hit = cache.get(host);
      if (hit != null && clockMillis.getAsLong() - hit.at() < TTL_MILLIS) {
        promise.trySuccess(hit.address());
        return;
      }
      try {
        threads.execute(() -> {
          try {
            InetAddress address = lookup.lookup(host);
            if (cache.size() >= MAX_CACHED) {
              cache.clear();
            }
            cache.put(host, new Cached(address, clockMillis.getAsLong()));
            promise.trySuccess(address);
          } catch (UnknownHostException | RuntimeException e) {
            cache.remove(host);
            promise.tryFailure(e);
          }
        });
      } catch (RejectedExecutionException full) {
        promise.tryFailure(new UnknownHostException(host + ": too many name lookups waiting ("
            + MAX_WAITING + "); the system's resolver is not answering"));
      }
    }

    @Override
    protected void doResolveAll(String host, Promise<List<InetAddress>> promise) {
      Promise<InetAddress> one = executor().newPromise();
      one.addListener(f -> {
        if (f.isSuccess()) {
          promise.trySuccess(Arrays.asList(one.getNow()));
        } else {
          promise.tryFailure(f.cause());
        }
      });
      doResolve(host, one);
    }
  }
}
