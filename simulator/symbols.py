"""Kernel symbols for printed stacks: file and line per function, renames per version, stable offsets.

The model pushes canonical (recent) function names on each task's stack; printing maps them to the
names the chosen kernel used (``__alloc_pages_nodemask`` in 5.2, ``__alloc_frozen_pages_noprof`` in 6.15+)
and appends ``+0xOFF/0xSIZE file.c:LINE``. Lines are representative of recent trees, not exact for every
version; offsets are derived from the name so that the same run prints the same bytes.
"""

from __future__ import annotations

import hashlib

from simulator.versions import KernelVersion

# name  file  line  [inline]
_TABLE = """
__alloc_pages_slowpath mm/page_alloc.c 4630
__alloc_frozen_pages_noprof mm/page_alloc.c 5161
alloc_pages_mpol mm/mempolicy.c 2416
alloc_pages_noprof mm/mempolicy.c 2507
folio_alloc_noprof mm/mempolicy.c 2517
filemap_alloc_folio_noprof mm/filemap.c 1007
__filemap_get_folio mm/filemap.c 1981
__perform_reclaim mm/page_alloc.c 4310 inline
__alloc_pages_direct_reclaim mm/page_alloc.c 4332
__alloc_pages_may_oom mm/page_alloc.c 3899
try_to_free_pages mm/vmscan.c 6644
do_try_to_free_pages mm/vmscan.c 6398
shrink_zones mm/vmscan.c 6336 inline
shrink_node mm/vmscan.c 6078
shrink_lruvec mm/vmscan.c 5836
shrink_inactive_list mm/vmscan.c 1990
shrink_folio_list mm/vmscan.c 1439
shrink_slab mm/shrinker.c 628
do_shrink_slab mm/shrinker.c 437
super_cache_scan fs/super.c 224
prune_icache_sb fs/inode.c 1000
prune_dcache_sb fs/dcache.c 1282
dispose_list fs/inode.c 852 inline
evict fs/inode.c 810
iput fs/inode.c 1763
ext4_evict_inode fs/ext4/inode.c 321
ext4_clear_inode fs/ext4/super.c 1503
ext4_discard_preallocations fs/ext4/mballoc.c 5660
ext4_mb_load_buddy_gfp fs/ext4/mballoc.c 1709
ext4_da_write_begin fs/ext4/inode.c 3086
ext4_write_begin fs/ext4/inode.c 1182
ext4_file_write_iter fs/ext4/file.c 696
ext4_buffered_write_iter fs/ext4/file.c 299
ext4_writepages fs/ext4/inode.c 2790
ext4_do_writepages fs/ext4/inode.c 2660
ext4_sync_file fs/ext4/fsync.c 151
ext4_xattr_set fs/ext4/xattr.c 2492
ext4_xattr_set_handle fs/ext4/xattr.c 2390
ext4_xattr_set_entry fs/ext4/xattr.c 1669
ext4_xattr_inode_cache_find fs/ext4/xattr.c 1484 inline
ext4_write_lock_xattr fs/ext4/xattr.h 155 inline
__ext4_journal_start_sb fs/ext4/ext4_jbd2.c 111
ext4_truncate fs/ext4/inode.c 4288
jbd2__journal_start fs/jbd2/transaction.c 520
start_this_handle fs/jbd2/transaction.c 463
grab_cache_page_write_begin mm/folio-compat.c 93
generic_perform_write mm/filemap.c 4103
__generic_file_write_iter mm/filemap.c 4223
generic_file_write_iter mm/filemap.c 4249
new_sync_write fs/read_write.c 586 inline
vfs_write fs/read_write.c 679
ksys_write fs/read_write.c 731
ksys_pwrite64 fs/read_write.c 795
__x64_sys_write fs/read_write.c 739
__x64_sys_pwrite64 fs/read_write.c 802
__x64_sys_fsync fs/sync.c 213
__x64_sys_setxattr fs/xattr.c 750
__x64_sys_madvise mm/madvise.c 1985
__x64_sys_read fs/read_write.c 720
__x64_sys_prctl kernel/sys.c 2495
vfs_fsync_range fs/sync.c 188
do_fsync fs/sync.c 201 inline
file_write_and_wait_range mm/filemap.c 791
file_check_and_advance_wb_err mm/filemap.c 747
filemap_fdatawrite_wbc mm/filemap.c 397
__filemap_fdatawrite_range mm/filemap.c 430
filemap_fdatawait_range mm/filemap.c 542
folio_wait_writeback mm/page-writeback.c 3140
do_writepages mm/page-writeback.c 2683
__writeback_single_inode fs/fs-writeback.c 1667
writeback_sb_inodes fs/fs-writeback.c 1943
__writeback_inodes_wb fs/fs-writeback.c 2014
wb_writeback fs/fs-writeback.c 2120
wb_do_writeback fs/fs-writeback.c 2267 inline
wb_workfn fs/fs-writeback.c 2307
process_one_work kernel/workqueue.c 3229
process_scheduled_works kernel/workqueue.c 3310 inline
worker_thread kernel/workqueue.c 3390
kthread kernel/kthread.c 389
ret_from_fork arch/x86/kernel/process.c 147
ret_from_fork_asm arch/x86/entry/entry_64.S 244
kswapd mm/vmscan.c 7243
balance_pgdat mm/vmscan.c 6953
kswapd_shrink_node mm/vmscan.c 6793 inline
xfs_reclaim_inodes_nr fs/xfs/xfs_icache.c 1049
xfs_reclaim_inodes_ag fs/xfs/xfs_icache.c 1010
xfs_reclaim_inode fs/xfs/xfs_icache.c 896
xfs_iflush fs/xfs/xfs_inode.c 3565
xfs_bwrite fs/xfs/xfs_buf.c 1378
__xfs_buf_submit fs/xfs/xfs_buf.c 1635
xfs_buf_iowait fs/xfs/xfs_buf.c 1570
xfs_fs_free_cached_objects fs/xfs/xfs_super.c 1156
xfs_file_write_iter fs/xfs/xfs_file.c 1428
xfs_file_buffered_write fs/xfs/xfs_file.c 760
iomap_file_buffered_write fs/iomap/buffered-io.c 1021
iomap_write_begin fs/iomap/buffered-io.c 805
xfs_file_fsync fs/xfs/xfs_file.c 143
wait_for_completion kernel/sched/completion.c 148
wait_for_common kernel/sched/completion.c 117 inline
__wait_for_common kernel/sched/completion.c 116 inline
do_wait_for_common kernel/sched/completion.c 95 inline
schedule_timeout kernel/time/timer.c 2591
schedule kernel/sched/core.c 6762
__schedule_loop kernel/sched/core.c 6767 inline
__schedule kernel/sched/core.c 6649
context_switch kernel/sched/core.c 5328 inline
io_schedule kernel/sched/core.c 7548
folio_wait_bit_common mm/filemap.c 1304
down_write kernel/locking/rwsem.c 1577
rwsem_down_write_slowpath kernel/locking/rwsem.c 1180
down_read kernel/locking/rwsem.c 1524
rwsem_down_read_slowpath kernel/locking/rwsem.c 1086
mutex_lock_nested kernel/locking/mutex.c 751
__mutex_lock kernel/locking/mutex.c 608 inline
__mutex_lock_common kernel/locking/mutex.c 684 inline
kmem_cache_alloc_noprof mm/slub.c 4142
__kmalloc_noprof mm/slub.c 4298
kvmalloc_node_noprof mm/util.c 650
slab_alloc_node mm/slub.c 4115 inline
slab_pre_alloc_hook mm/slub.c 4039 inline
should_failslab mm/failslab.c 45
should_fail_ex lib/fault-inject.c 153
fail_dump lib/fault-inject.c 52 inline
dump_stack_lvl lib/dump_stack.c 119
__dump_stack lib/dump_stack.c 93 inline
might_alloc include/linux/sched/mm.h 318 inline
fs_reclaim_acquire mm/page_alloc.c 3851
__fs_reclaim_acquire mm/page_alloc.c 3837 inline
new_slab mm/slub.c 2586
allocate_slab mm/slub.c 2542 inline
___slab_alloc mm/slub.c 3761
__slab_alloc mm/slub.c 3850 inline
nfs_page_create fs/nfs/pagelist.c 420
nfs_page_create_from_folio fs/nfs/pagelist.c 480
nfs_setup_write_request fs/nfs/write.c 1079
nfs_writepage_setup fs/nfs/write.c 1102
nfs_update_folio fs/nfs/write.c 1339
nfs_write_end fs/nfs/file.c 432
nfs_file_write fs/nfs/file.c 682
nfs_release_folio fs/nfs/file.c 486
nfs_commit_inode fs/nfs/write.c 1889
__nfs_commit_inode fs/nfs/write.c 1865
wait_on_commit fs/nfs/write.c 1817 inline
filemap_release_folio mm/filemap.c 4141
xs_stream_prepare_request net/sunrpc/xprtsock.c 865
xs_tcp_send_request net/sunrpc/xprtsock.c 1115
xprt_transmit net/sunrpc/xprt.c 1612
call_transmit net/sunrpc/clnt.c 2194
__rpc_execute net/sunrpc/sched.c 953
rpc_async_schedule net/sunrpc/sched.c 1011
sock_alloc_send_pskb net/core/sock.c 2838
alloc_skb_with_frags net/core/skbuff.c 6530
__alloc_skb net/core/skbuff.c 665
shmem_file_read_iter mm/shmem.c 3224
shmem_write_begin mm/shmem.c 3071
shmem_get_folio_gfp mm/shmem.c 2346
shmem_alloc_and_add_folio mm/shmem.c 1872
shmem_alloc_folio mm/shmem.c 1837
filemap_read mm/filemap.c 2581
vfs_read fs/read_write.c 565
ksys_read fs/read_write.c 708
madvise_inject_error mm/madvise.c 1387
madvise_do_behavior mm/madvise.c 1883
do_madvise mm/madvise.c 1978
memory_failure mm/memory-failure.c 2367
me_pagecache_dirty mm/memory-failure.c 1245
handle_mm_fault mm/memory.c 6364
__handle_mm_fault mm/memory.c 6195
do_anonymous_page mm/memory.c 5054 inline
alloc_anon_folio mm/memory.c 4997 inline
vma_alloc_folio_noprof mm/mempolicy.c 2470
do_user_addr_fault arch/x86/mm/fault.c 1389
exc_page_fault arch/x86/mm/fault.c 1481
asm_exc_page_fault arch/x86/include/asm/idtentry.h 623
__get_user_pages mm/gup.c 1446
faultin_page_range mm/gup.c 1932
madvise_populate mm/madvise.c 979 inline
do_syscall_x64 arch/x86/entry/syscall_64.c 63 inline
do_syscall_64 arch/x86/entry/syscall_64.c 94
entry_SYSCALL_64_after_hwframe arch/x86/entry/entry_64.S 130
blk_mq_submit_bio block/blk-mq.c 3091
submit_bio_noacct_nocheck block/blk-core.c 750
submit_bio_noacct block/blk-core.c 868
dmz_map drivers/md/dm-zoned-target.c 684
dmz_chunk_work drivers/md/dm-zoned-target.c 541
tcmu_queue_cmd drivers/target/target_core_user.c 1185
__x64_sys_umount fs/namespace.c 2049
generic_shutdown_super fs/super.c 642
evict_inodes fs/inode.c 898
sync_filesystem fs/sync.c 66
truncate_inode_pages_final mm/truncate.c 449
check_noncircular kernel/locking/lockdep.c 2187
check_prev_add kernel/locking/lockdep.c 3166 inline
check_prevs_add kernel/locking/lockdep.c 3281 inline
validate_chain kernel/locking/lockdep.c 3906 inline
__lock_acquire kernel/locking/lockdep.c 5228
lock_acquire kernel/locking/lockdep.c 5851
out_of_memory mm/oom_kill.c 1163
nfs_vm_page_mkwrite fs/nfs/file.c 585
shrink_dentry_list fs/dcache.c 1201
__dentry_kill fs/dcache.c 607
dentry_unlink_inode fs/dcache.c 401
jbd2_journal_stop fs/jbd2/transaction.c 1873
nfs_page_alloc fs/nfs/pagelist.c 53 inline
nfs_write_begin fs/nfs/file.c 347
nfs_wb_folio fs/nfs/write.c 2081
nfs_initiate_commit fs/nfs/write.c 1702
rpc_run_task net/sunrpc/clnt.c 1241
rpc_wait_for_completion_task net/sunrpc/sched.c 290
__rpc_wait_for_completion_task net/sunrpc/sched.c 310
out_of_line_wait_on_bit kernel/sched/wait_bit.c 64
__wait_on_bit kernel/sched/wait_bit.c 49
bit_wait kernel/sched/wait_bit.c 202
mpage_prepare_extent_to_map fs/ext4/inode.c 2564
ext4_mb_new_blocks fs/ext4/mballoc.c 6240
ext4_map_blocks fs/ext4/inode.c 705
ext4_ext_map_blocks fs/ext4/extents.c 4293
ext4_alloc_da_blocks fs/ext4/inode.c 3142
do_exit kernel/exit.c 938
do_group_exit kernel/exit.c 1087
get_signal kernel/signal.c 2906
kthread_worker_fn kernel/kthread.c 844
panic kernel/panic.c 354
check_panic_on_warn kernel/panic.c 240
filemap_write_and_wait_range mm/filemap.c 684
bio_alloc_clone block/bio.c 872
mempool_alloc mm/mempool.c 408
xfs_iflock fs/xfs/xfs_inode.h 241 inline
xfs_vm_writepages fs/xfs/xfs_aops.c 483
iomap_writepages fs/iomap/buffered-io.c 1983
nfs_writepages fs/nfs/write.c 744
nfs_file_write fs/nfs/file.c 682
__x64_sys_process_vm_writev mm/process_vm_access.c 302
process_vm_rw mm/process_vm_access.c 260
process_vm_rw_core mm/process_vm_access.c 216 inline
process_vm_rw_single_vec mm/process_vm_access.c 106
pin_user_pages_remote mm/gup.c 2608
__gup_longterm_locked mm/gup.c 2489
__get_user_pages_locked mm/gup.c 1617 inline
faultin_page mm/gup.c 1152 inline
unpin_user_pages_dirty_lock mm/gup.c 374
unpin_user_page_range_dirty_lock mm/gup.c 411
set_page_dirty_lock mm/page-writeback.c 2817
folio_mark_dirty mm/page-writeback.c 2785
ext4_dirty_folio fs/ext4/inode.c 3661
block_dirty_folio fs/buffer.c 730
ext4_page_mkwrite fs/ext4/inode.c 6183
block_page_mkwrite fs/buffer.c 2582
do_page_mkwrite mm/memory.c 3112
do_shared_fault mm/memory.c 5052 inline
do_fault mm/memory.c 5183 inline
wp_page_shared mm/memory.c 3510 inline
do_wp_page mm/memory.c 3685
ib_umem_get drivers/infiniband/core/umem.c 224
ib_umem_release drivers/infiniband/core/umem.c 313
__ib_umem_release drivers/infiniband/core/umem.c 51
ib_uverbs_reg_mr drivers/infiniband/core/uverbs_cmd.c 741
ib_uverbs_dereg_mr drivers/infiniband/core/uverbs_cmd.c 873
ib_uverbs_write drivers/infiniband/core/uverbs_main.c 648
ext4_dio_write_iter fs/ext4/file.c 592
iomap_dio_rw fs/iomap/direct-io.c 748
__iomap_dio_rw fs/iomap/direct-io.c 665
kiocb_invalidate_pages mm/filemap.c 2747
invalidate_inode_pages2_range mm/truncate.c 640
dio_warn_stale_pagecache fs/direct-io.c 118
try_to_free_buffers fs/buffer.c 2897
btrfs_create fs/btrfs/inode.c 6809
btrfs_add_link fs/btrfs/inode.c 6636
btrfs_insert_dir_item fs/btrfs/dir-item.c 134
btrfs_alloc_tree_block fs/btrfs/extent-tree.c 4853
btrfs_add_delayed_tree_ref fs/btrfs/delayed-ref.c 913
ext4_reserve_inode_write fs/ext4/inode.c 5735
ext4_mark_inode_dirty fs/ext4/inode.c 5877
__ext4_new_inode fs/ext4/ialloc.c 1228
xfs_create fs/xfs/xfs_inode.c 1047
xfs_dir_createname fs/xfs/libxfs/xfs_dir2.c 308
__x64_sys_openat fs/open.c 1428
do_sys_openat2 fs/open.c 1388
do_filp_open fs/namei.c 3822
path_openat fs/namei.c 3793
"""

class Reported(str):
    """A function name taken from a report (``simulator.callpath``): printed as the report named it."""

    __slots__ = ()


SYMBOLS: dict[str, tuple[str, int, bool]] = {}
for _line in _TABLE.strip().splitlines():
    _parts = _line.split()
    SYMBOLS[_parts[0]] = (_parts[1], int(_parts[2]), len(_parts) > 3)

# canonical name -> [(first version, name used from then on)], oldest first
RENAMES: dict[str, list[tuple[str, str]]] = {
    # the dirty-folio WARN of page-cache removal (unaccount_page_cache_page before the 5.16 folio conversion;
    # its first version here, 4.14, is unverified)
    "filemap_unaccount_folio": [("4.14", "unaccount_page_cache_page"), ("5.16", "filemap_unaccount_folio")],
    "__alloc_frozen_pages_noprof": [("2.6", "__alloc_pages_nodemask"), ("5.13", "__alloc_pages"),
                                    ("6.10", "__alloc_pages_noprof"), ("6.15", "__alloc_frozen_pages_noprof")],
    "alloc_pages_noprof": [("2.6", "alloc_pages_current"), ("5.13", "alloc_pages"), ("6.10", "alloc_pages_noprof")],
    "alloc_pages_mpol": [("2.6", "alloc_pages_current"), ("6.7", "alloc_pages_mpol"),
                         ("6.10", "alloc_pages_mpol_noprof"), ("6.15", "alloc_pages_mpol")],
    "folio_alloc_noprof": [("2.6", "__page_cache_alloc"), ("5.16", "folio_alloc"), ("6.10", "folio_alloc_noprof")],
    "filemap_alloc_folio_noprof": [("2.6", "__page_cache_alloc"), ("5.16", "filemap_alloc_folio"),
                                   ("6.10", "filemap_alloc_folio_noprof")],
    "__filemap_get_folio": [("2.6", "pagecache_get_page"), ("5.16", "__filemap_get_folio")],
    "shrink_folio_list": [("2.6", "shrink_page_list"), ("6.2", "shrink_folio_list")],
    "kmem_cache_alloc_noprof": [("2.6", "kmem_cache_alloc"), ("6.10", "kmem_cache_alloc_noprof")],
    "__kmalloc_noprof": [("2.6", "__kmalloc"), ("6.10", "__kmalloc_noprof")],
    "kvmalloc_node_noprof": [("2.6", "kvmalloc_node"), ("6.10", "kvmalloc_node_noprof")],
    "vma_alloc_folio_noprof": [("2.6", "alloc_pages_vma"), ("6.0", "vma_alloc_folio"),
                               ("6.10", "vma_alloc_folio_noprof")],
    "folio_wait_writeback": [("2.6", "wait_on_page_writeback"), ("5.16", "folio_wait_writeback")],
    "ext4_dirty_folio": [("2.6", "ext4_set_page_dirty"), ("5.18", "ext4_dirty_folio")],
    "pin_user_pages_remote": [("2.6", "get_user_pages_remote"), ("5.6", "pin_user_pages_remote")],
    "folio_mark_dirty": [("2.6", "set_page_dirty"), ("5.16", "folio_mark_dirty")],
    "block_dirty_folio": [("2.6", "__set_page_dirty_buffers"), ("5.18", "block_dirty_folio")],
    "nfs_release_folio": [("2.6", "nfs_release_page"), ("6.0", "nfs_release_folio")],
    "filemap_release_folio": [("2.6", "try_to_release_page"), ("6.0", "filemap_release_folio")],
    "nfs_update_folio": [("2.6", "nfs_updatepage"), ("6.4", "nfs_update_folio")],
    "nfs_page_create_from_folio": [("2.6", "nfs_create_request"), ("6.3", "nfs_page_create_from_folio")],
    "shmem_get_folio_gfp": [("2.6", "shmem_getpage_gfp"), ("6.0", "shmem_get_folio_gfp")],
    "shmem_alloc_folio": [("2.6", "shmem_alloc_page"), ("6.0", "shmem_alloc_folio")],
    "me_pagecache_dirty": [("2.6", "me_pagecache_dirty")],
    "do_syscall_x64": [("2.6", "do_syscall_64"), ("5.9", "do_syscall_x64")],
}

# frames that only exist from some version on: dropped when printing older kernels
_FIRST_SEEN = {"do_syscall_x64": "5.9", "__schedule_loop": "6.8", "alloc_pages_mpol": "6.7",
               "kiocb_invalidate_pages": "6.5", "unpin_user_pages_dirty_lock": "5.6", "ext4_do_writepages": "6.3",
               "filemap_alloc_folio_noprof": "5.16",
               "process_scheduled_works": "6.5", "ret_from_fork_asm": "6.6", "shrink_slab_memcg": "5.4"}


def name_for(name: str, version: KernelVersion) -> str | None:
    if isinstance(name, Reported):
        return name
    first = _FIRST_SEEN.get(name)
    if first and not version.at_least(first):
        return None
    chosen = name
    for since, alias in RENAMES.get(name, []):
        if version.at_least(since):
            chosen = alias
    return chosen


def _unsuffixed(name: str) -> str:
    return name.split(".", 1)[0]


def _h(name: str) -> int:
    return int.from_bytes(hashlib.blake2s(name.encode(), digest_size=4).digest(), "big")


def _fmt(canonical: str, shown: str, *, allow_inline: bool = True) -> str:
    file, line, inline = SYMBOLS.get(canonical) or SYMBOLS.get(_unsuffixed(canonical)) or (None, 0, False)
    if isinstance(canonical, Reported):
        inline = False
    loc = f" {file}:{line}" if file else ""
    if inline and allow_inline:
        return f" {shown}{loc} [inline]"
    h = _h(shown)
    size = 0x100 + (h % 0x1f00)
    off = 0x10 + (h >> 13) % (size - 0x10)
    return f" {shown}+{off:#x}/{size:#x}{loc}"


def print_stack(frames: list[str], version: KernelVersion) -> list[str]:
    """Call Trace lines, innermost first, with the names the chosen version used."""
    out: list[str] = []
    last = None
    for fn in reversed(frames):
        shown = name_for(fn, version)
        if shown is None or shown == last:
            continue
        last = shown
        out.append(_fmt(fn, shown))
    return out


def ip_of(name: str, version: KernelVersion) -> str:
    """``__alloc_pages_slowpath+0xca5/0xce0 mm/page_alloc.c:4630`` for RIP lines (never [inline])."""
    return _fmt(name, name_for(name, version) or name, allow_inline=False).strip()
