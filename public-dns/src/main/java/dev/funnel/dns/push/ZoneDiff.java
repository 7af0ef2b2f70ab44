package dev.funnel.dns.push;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Update;

/**
 * From what the zone holds to what it should: pure functions, no I/O. Every change is a whole
 * RRset — replaced (delete the RRset, add its records, in one update) or removed — so applying
 * one twice, or after another pusher already did, leaves the same zone (RFC 2136 deletes of what
 * is not there are no-ops). That is what makes several pushers for one zone harmless.
 */
public final class ZoneDiff {

  private ZoneDiff() {
  }

  /** One RRset to change. */
  public sealed interface Change permits Replace, Remove {
    RRset.Key key();
  }

  /** The RRset at {@code set.key()} becomes exactly {@code set}. */
  public record Replace(RRset set) implements Change {
    @Override
    public RRset.Key key() {
      return set.key();
    }
  }

  /** The RRset at {@code key} goes. */
  public record Remove(RRset.Key key) implements Change {
  }

  /**
   * The changes that turn {@code current} into {@code desired}, ordered by owner name and type: a
   * Replace for every desired RRset missing or different (records or TTL), a Remove for every
   * current RRset not desired. Equal maps give none.
   */
  public static List<Change> between(Map<RRset.Key, RRset> desired, Map<RRset.Key, RRset> current) {
    List<Change> out = new ArrayList<>();
    TreeSet<RRset.Key> keys = new TreeSet<>(desired.keySet());
    keys.addAll(current.keySet());
    for (RRset.Key key : keys) {
      RRset want = desired.get(key);
      RRset have = current.get(key);
      if (want == null) {
        out.add(new Remove(key));
      } else if (!want.equals(have)) {
        out.add(new Replace(want));
      }
    }
    return out;
  }

  /** {@code current} once {@code changes} were applied (what the zone holds after an accepted update). */
  public static Map<RRset.Key, RRset> applied(Map<RRset.Key, RRset> current, List<Change> changes) {
    Map<RRset.Key, RRset> out = new TreeMap<>(current);
    for (Change change : changes) {
      if (change instanceof Replace replace) {
        out.put(replace.key(), replace.set());
      } else {
        out.remove(change.key());
      }
    }
    return out;
  }

  /**
   * An update message's records stay below this many bytes (a rough upper estimate per record), far
   * under DNS's 64 KiB limit for a message over TCP, whatever the TXT values and frontends.
   */
  static final int MAX_UPDATE_BYTES = 32 * 1024;

  /**
   * {@code changes} in order, at most {@code perUpdate} to one update message (each one atomic at
   * the primary) and at most {@link #MAX_UPDATE_BYTES} of records by estimate; a change is never split.
   */
  public static List<List<Change>> batches(List<Change> changes, int perUpdate) {
    if (perUpdate < 1) {
      throw new IllegalArgumentException("perUpdate must be at least 1");
    }
    List<List<Change>> out = new ArrayList<>();
    List<Change> batch = new ArrayList<>();
    int bytes = 0;
    for (Change change : changes) {
      int size = estimate(change);
      if (!batch.isEmpty() && (batch.size() == perUpdate || bytes + size > MAX_UPDATE_BYTES)) {
        out.add(List.copyOf(batch));
        batch.clear();
        bytes = 0;
      }
      batch.add(change);
      bytes += size;
    }
    if (!batch.isEmpty()) {
      out.add(List.copyOf(batch));
    }
    return out;
  }

  /** Bytes {@code change} adds to an update at most: per record its owner name uncompressed, 10 bytes of header, its data. */
  static int estimate(Change change) {
    int owner = change.key().name().length() + 2;
    int size = owner + 10;
    if (change instanceof Replace replace) {
      for (String data : replace.set().data()) {
        size += owner + 10 + data.length() + 2;
      }
    }
    return size;
  }

  /**
   * The RFC 2136 update for {@code zone} that makes {@code batch} so, with no prerequisites: per
   * change a delete of the RRset (class ANY) and, for a Replace, an add of each record.
   */
  public static Update update(String zone, List<Change> batch) {
    Update update = new Update(ManagedRecords.absolute(ManagedRecords.key(zone)));
    for (Change change : batch) {
      Name owner = ManagedRecords.absolute(change.key().name());
      update.delete(owner, change.key().type());
      if (change instanceof Replace replace) {
        for (String data : replace.set().data()) {
          update.add(record(owner, replace.set(), data));
        }
      }
    }
    return update;
  }

  /** {@code batches(between(desired, current), perUpdate)} as update messages: {@code ZoneDiff} in one call. */
  public static List<Update> updates(String zone, Map<RRset.Key, RRset> desired, Map<RRset.Key, RRset> current,
                                     int perUpdate) {
    return batches(between(desired, current), perUpdate).stream().map(b -> update(zone, b)).toList();
  }

  private static Record record(Name owner, RRset set, String data) {
    try {
      return Record.fromString(owner, set.type(), DClass.IN, set.ttl(), data, Name.root);
    } catch (IOException e) {
      throw new IllegalArgumentException("record data '" + data + "' of " + set.key() + " does not parse: "
          + e.getMessage(), e);
    }
  }
}
