package dev.funnel.registry.store;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The registry's durable state: tailnets (the admin's opt-in and ports), auth keys (as hashes),
 * node identities and their custom domains (aliases). Every method blocks on I/O: call it only from a worker thread
 * ({@code vertx.executeBlocking}), never from an event loop. A method returns only after its change
 * is committed, so an acknowledged write survives the process being killed.
 *
 * <p>Implementations are safe to call from several threads; each method is one transaction.
 * Lookups that can find nothing return {@link Optional#empty()}.
 */
public interface ControlStore extends AutoCloseable {

  /** A trivial query; throws when the store cannot answer. */
  void ping();

  /** The schema version the store is at (the highest migration applied). */
  int schemaVersion();

  List<Tailnet> tailnets();

  Optional<Tailnet> tailnet(String name);

  /** Inserts {@code tailnet}; false (and nothing written) when one of that name exists. */
  boolean insertTailnet(Tailnet tailnet);

  /** Changes the given fields (null: keep); empty when there is no such tailnet. */
  Optional<Tailnet> updateTailnet(String name, Boolean funnel, Set<Integer> ports);

  /**
   * Deletes a tailnet with its keys and nodes; returns the nodes it had, or empty when there was no
   * such tailnet.
   */
  Optional<List<NodeIdentity>> deleteTailnet(String name);

  /** Inserts a key; {@code keyHash} is the SHA-256 (hex) of the key, never the key. */
  void insertKey(AuthKeyInfo key, String keyHash);

  List<AuthKeyInfo> keys();

  Optional<AuthKeyInfo> key(String id);

  /**
   * Marks a key revoked (keeping the first revocation time) and returns it with the nodes that
   * enrolled with it; empty when there is no such key.
   */
  Optional<Revocation> revokeKey(String id, Instant now);

  List<NodeIdentity> nodes();

  Optional<NodeIdentity> nodeByPublicKey(String publicKey);

  /**
   * Enrols a new node with the key whose hash is {@code keyHash}: checks the key (exists, not
   * revoked, not expired, a one-off key not yet used), checks {@code name} is free in the key's
   * tailnet, inserts the identity and marks a one-off key used, all in one transaction.
   */
  Enrolment enrol(String keyHash, String nodeId, String name, String publicKey, Instant now);

  /**
   * Enrols node {@code nodeId} again, with the key whose hash is {@code keyHash}, when the key it
   * enrolled with was revoked: checks the key as {@link #enrol} does and that it is of the node's
   * tailnet, then records it as the node's key and marks a one-off key used, in one transaction.
   * {@link Enrolment.Enrolled} carries the node with its new key; nothing is written otherwise.
   */
  Enrolment reenrol(String keyHash, String nodeId, Instant now);

  /** Forgets the node {@code name.tailnet}; returns it, or empty when there was none. */
  Optional<NodeIdentity> deleteNode(String name, String tailnet);

  /**
   * Every claim of a custom domain, by alias then node. Several nodes may claim one alias (only the
   * one its CNAME points at can ever be verified), so a claim is (alias, node).
   */
  List<AliasRecord> aliases();

  /** Inserts a claim; false (and nothing written) when that node already claims that alias. */
  boolean insertAlias(AliasRecord alias);

  /** Records a check's result (state, reason, time) of a claim; false when there is no such claim. */
  boolean updateAlias(AliasRecord alias);

  /** Forgets node {@code nodeId}'s claim of {@code alias}; returns it, or empty when there was none. */
  Optional<AliasRecord> deleteAlias(String alias, String nodeId);

  @Override
  void close();

  /** A revoked key and the identities created with it. */
  record Revocation(AuthKeyInfo key, List<NodeIdentity> nodes) {
    public Revocation {
      nodes = List.copyOf(nodes);
    }
  }
}
