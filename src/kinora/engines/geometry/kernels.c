/* Perspective warps and premultiplied "over" for 8-bit planes, fused with their maps.
 *
 * The same sampling as kinora.engines.geometry.warp's grid + cv2.remap (bilinear, 1/32-pixel positions,
 * exact integer weights), without a map in memory: each row's source coordinates are
 * interpolated from the coarse grid of exact homography positions (warp.Grid) as cv2.resize
 * would, and go straight to the gathers. "Over" skips the grid cells whose source holds no
 * coverage, so a subject is warped only where it can show.
 *
 * Planes hold 1 or 2 interleaved channels (a pair such as [Y*a, a] or [U, V] costs one gather
 * per row of taps). The caller pads them (kinora.engines.geometry.kernels.Plane): PAD pixels on every side,
 * replicated for the back layer and zero for the front, with slack for 4-byte reads, so clamped
 * positions read valid memory and give what OpenCV's borders give.
 *
 * `make install` builds this into _kernels.so (with -ffp-contract=off, so the AVX2 and plain
 * builds of each function compute the same coordinates). AVX2 is chosen at run time when the
 * CPU has it, plain C otherwise; without the library the renderer uses OpenCV.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KN_X86 1
#endif

#define PAD 2
#define MAX_CHANNELS 4
#define MAX_WIDTH 4096

typedef struct {
    const float *nodes; /* (rows, cols, 2) source (x, y) of the grid's nodes */
    int rows, cols, step;
} kn_grid;

typedef struct {
    const uint8_t *data; /* pixel (0, 0) of the unpadded plane */
    int width, height;   /* in pixels */
    int stride;          /* bytes per row */
    int channels;        /* 1 or 2, interleaved */
} kn_plane;

/* A window row split into grid cells: cell j holds the pixels whose node coordinate
 * (x + 0.5) / step + 0.5 has floor j, as cv2.resize samples. */
typedef struct {
    int n;     /* cells */
    int first; /* grid column of the first */
    int start[MAX_WIDTH / 4 + 2];
} kn_cells;

static void split_cells(const kn_grid *g, int x0, int x1, kn_cells *cells) {
    const int s = g->step; /* even: cell j starts at pixel j * s - s / 2 */
    int j = (x0 + s / 2) / s;
    if (j > g->cols - 2) j = g->cols - 2;
    cells->first = j;
    int k = 0;
    cells->start[k++] = x0;
    for (int b = (j + 1) * s - s / 2; b < x1 && j + 1 <= g->cols - 2; b += s, j++)
        cells->start[k++] = b;
    cells->start[k] = x1;
    cells->n = k;
}

static int node_row(const kn_grid *g, int y, float *ty) {
    float fy = ((float)y + 0.5f) / (float)g->step + 0.5f;
    int i = (int)floorf(fy);
    if (i < 0) i = 0;
    if (i > g->rows - 2) i = g->rows - 2;
    *ty = fy - (float)i;
    return i;
}

/* Source coordinates of window row y over cells [k0, k1), from ur[0] (pixel start[k0]) on. */
#ifdef KN_X86
__attribute__((target_clones("avx2", "default")))
#endif
static void row_coords(const kn_grid *g, int y, const kn_cells *cells, int k0, int k1, float *ur,
                       float *vr) {
    const float inv = 1.0f / (float)g->step;
    float ty;
    int i = node_row(g, y, &ty);
    const float *r0 = g->nodes + (size_t)i * g->cols * 2;
    const float *r1 = r0 + (size_t)g->cols * 2;
    float *uo = ur - cells->start[k0], *vo = vr - cells->start[k0];
    for (int k = k0; k < k1; k++) {
        int j = cells->first + k;
        float ua = r0[2 * j] + (r1[2 * j] - r0[2 * j]) * ty;
        float va = r0[2 * j + 1] + (r1[2 * j + 1] - r0[2 * j + 1]) * ty;
        float ub = r0[2 * j + 2] + (r1[2 * j + 2] - r0[2 * j + 2]) * ty;
        float vb = r0[2 * j + 3] + (r1[2 * j + 3] - r0[2 * j + 3]) * ty;
        /* u(x) = ua + (ub - ua) * ((x + 0.5) / s + 0.5 - j) */
        float t0 = 0.5f * inv + 0.5f - (float)j;
        float su = (ub - ua) * inv, sv = (vb - va) * inv;
        float u0 = ua + (ub - ua) * t0, v0 = va + (vb - va) * t0;
        for (int x = cells->start[k]; x < cells->start[k + 1]; x++) {
            uo[x] = u0 + su * (float)x;
            vo[x] = v0 + sv * (float)x;
        }
    }
}

/* Bilinear samples of every channel of `np` planes (same pixel size) at n positions, into
 * out[0..channels) in plane order. */
static void sample_scalar(const kn_plane *p, int np, const float *ur, const float *vr, int n,
                          uint8_t **out) {
    const int xmax = p[0].width, ymax = p[0].height;
    for (int k = 0; k < n; k++) {
        int su = (int)lrintf(ur[k] * 32.0f), sv = (int)lrintf(vr[k] * 32.0f);
        int ix = su >> 5, iy = sv >> 5, fx = su & 31, fy = sv & 31;
        if (ix < -PAD) ix = -PAD;
        if (ix > xmax) ix = xmax;
        if (iy < -PAD) iy = -PAD;
        if (iy > ymax) iy = ymax;
        int o = 0;
        for (int c = 0; c < np; c++) {
            const int cn = p[c].channels;
            const uint8_t *a = p[c].data + (ptrdiff_t)iy * p[c].stride + (ptrdiff_t)ix * cn;
            const uint8_t *b = a + p[c].stride;
            for (int q = 0; q < cn; q++, o++) {
                int top = a[q] * 32 + (a[q + cn] - a[q]) * fx;
                int bot = b[q] * 32 + (b[q + cn] - b[q]) * fx;
                out[o][k] = (uint8_t)((top * 32 + (bot - top) * fy + 512) >> 10);
            }
        }
    }
}

#ifdef KN_X86
#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline void store8(uint8_t *dst, __m256i v) {
    const __m256i pack = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, -1, 0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1,
                                          -1, -1, -1, -1);
    const __m256i join = _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0);
    __m256i b = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(v, pack), join);
    _mm_storel_epi64((__m128i *)(void *)dst, _mm256_castsi256_si128(b));
}

/* Per lane, 4 gathered bytes hold the two horizontal taps of each channel; maddubs weighs
 * them by (32 - fx, fx), madd then weighs the two rows by (32 - fy, fy): the same integer
 * sums as the scalar code, in fewer instructions. */
AVX2 static void sample_avx2(const kn_plane *p, int np, const float *ur, const float *vr, int n,
                             uint8_t **out) {
    const __m256 k32 = _mm256_set1_ps(32.0f);
    const __m256i lo = _mm256_set1_epi32(-PAD);
    const __m256i hix = _mm256_set1_epi32(p[0].width), hiy = _mm256_set1_epi32(p[0].height);
    const __m256i m31 = _mm256_set1_epi32(31), c32 = _mm256_set1_epi32(32);
    const __m256i low16 = _mm256_set1_epi32(0xffff), half = _mm256_set1_epi32(512);
    /* [c0(x), c1(x), c0(x+1), c1(x+1)] -> [c0(x), c0(x+1), c1(x), c1(x+1)] */
    const __m256i pairs = _mm256_setr_epi8(0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15,
                                           0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15);
    int k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256i su = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(ur + k), k32));
        __m256i sv = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(vr + k), k32));
        __m256i fx = _mm256_and_si256(su, m31), fy = _mm256_and_si256(sv, m31);
        __m256i ix = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(su, 5), lo), hix);
        __m256i iy = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(sv, 5), lo), hiy);
        /* bytes (32 - fx, fx) for one channel, twice for two; 16-bit (32 - fy, fy) */
        __m256i wx1 = _mm256_or_si256(_mm256_sub_epi32(c32, fx), _mm256_slli_epi32(fx, 8));
        __m256i wx2 = _mm256_or_si256(wx1, _mm256_slli_epi32(wx1, 16));
        __m256i wy = _mm256_or_si256(_mm256_sub_epi32(c32, fy), _mm256_slli_epi32(fy, 16));
        int o = 0;
        for (int c = 0; c < np; c++) {
            const int cn = p[c].channels;
            __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(iy, _mm256_set1_epi32(p[c].stride)),
                                           cn == 2 ? _mm256_slli_epi32(ix, 1) : ix);
            __m256i g0 = _mm256_i32gather_epi32((const int *)(const void *)p[c].data, off, 1);
            __m256i g1 = _mm256_i32gather_epi32(
                (const int *)(const void *)(p[c].data + p[c].stride), off, 1);
            if (cn == 1) {
                __m256i top = _mm256_maddubs_epi16(g0, wx1); /* low 16 bits; high 16 are 0 */
                __m256i bot = _mm256_maddubs_epi16(g1, wx1);
                __m256i tb = _mm256_or_si256(top, _mm256_slli_epi32(bot, 16));
                __m256i v = _mm256_srli_epi32(_mm256_add_epi32(_mm256_madd_epi16(tb, wy), half), 10);
                store8(out[o++] + k, v);
            } else {
                __m256i top = _mm256_maddubs_epi16(_mm256_shuffle_epi8(g0, pairs), wx2);
                __m256i bot = _mm256_maddubs_epi16(_mm256_shuffle_epi8(g1, pairs), wx2);
                __m256i t0 = _mm256_or_si256(_mm256_and_si256(top, low16), _mm256_slli_epi32(bot, 16));
                __m256i t1 = _mm256_or_si256(_mm256_srli_epi32(top, 16), _mm256_andnot_si256(low16, bot));
                __m256i v0 = _mm256_srli_epi32(_mm256_add_epi32(_mm256_madd_epi16(t0, wy), half), 10);
                __m256i v1 = _mm256_srli_epi32(_mm256_add_epi32(_mm256_madd_epi16(t1, wy), half), 10);
                store8(out[o++] + k, v0);
                store8(out[o++] + k, v1);
            }
        }
    }
    if (k < n) {
        uint8_t *rest[MAX_CHANNELS];
        int channels = 0;
        for (int c = 0; c < np; c++) channels += p[c].channels;
        for (int o = 0; o < channels; o++) rest[o] = out[o] + k;
        sample_scalar(p, np, ur + k, vr + k, n - k, rest);
    }
}
#endif

typedef void (*sample_fn)(const kn_plane *, int, const float *, const float *, int, uint8_t **);

static int force_scalar = 0;

/* Use the plain C sampler even where AVX2 is available (tests compare the two). */
void kn_force_scalar(int on) { force_scalar = on; }

static sample_fn pick_sampler(void) {
#ifdef KN_X86
    if (!force_scalar && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return sample_avx2;
#endif
    return sample_scalar;
}

/* Widest window the kernels take (their row buffers live on the stack). */
int kn_max_width(void) { return MAX_WIDTH; }

/* 1 when the sampler runs on AVX2, else 0. */
int kn_simd(void) {
#ifdef KN_X86
    return pick_sampler() == sample_avx2;
#else
    return 0;
#endif
}

static int channels_of(const kn_plane *p, int np) {
    int channels = 0;
    for (int c = 0; c < np; c++) {
        if (p[c].channels < 1 || p[c].channels > 2) return -1;
        channels += p[c].channels;
    }
    return channels > MAX_CHANNELS ? -1 : channels;
}

/* Warp every channel of `np` planes through `grid` into the window (x, y, w, h) of the grid's
 * window: dst[o] (one per channel, rows dst_stride apart) points at the window's first pixel. */
#ifdef KN_X86
__attribute__((target_clones("avx2", "default")))
#endif
int kn_warp(const kn_plane *src, int np, const kn_grid *grid, int x, int y, int w, int h,
            uint8_t **dst, int dst_stride) {
    int channels = channels_of(src, np);
    if (channels < 0 || w > MAX_WIDTH || w < 1 || h < 1) return -1;
    sample_fn sample = pick_sampler();
    float ur[MAX_WIDTH], vr[MAX_WIDTH];
    uint8_t *rows[MAX_CHANNELS];
    kn_cells cells;
    split_cells(grid, x, x + w, &cells);
    for (int r = 0; r < h; r++) {
        row_coords(grid, y + r, &cells, 0, cells.n, ur, vr);
        for (int o = 0; o < channels; o++) rows[o] = dst[o] + (ptrdiff_t)r * dst_stride;
        sample(src, np, ur, vr, w, rows);
    }
    return 0;
}

/* Which cells of grid row band i can show coverage: the source box of a cell's corners, plus
 * the bilinear taps, holds a covered block of `block` pixels per the summed-area table `sat`
 * ((by + 1) x (bx + 1) int32). */
static void seen_cells(const kn_grid *g, int i, const int32_t *sat, int bx, int by, float block,
                       uint8_t *seen) {
    const float *r0 = g->nodes + (size_t)i * g->cols * 2;
    const float *r1 = r0 + (size_t)g->cols * 2;
    for (int j = 0; j + 1 < g->cols; j++) {
        float xa = fminf(fminf(r0[2 * j], r0[2 * j + 2]), fminf(r1[2 * j], r1[2 * j + 2]));
        float xb = fmaxf(fmaxf(r0[2 * j], r0[2 * j + 2]), fmaxf(r1[2 * j], r1[2 * j + 2]));
        float ya = fminf(fminf(r0[2 * j + 1], r0[2 * j + 3]), fminf(r1[2 * j + 1], r1[2 * j + 3]));
        float yb = fmaxf(fmaxf(r0[2 * j + 1], r0[2 * j + 3]), fmaxf(r1[2 * j + 1], r1[2 * j + 3]));
        int c0 = (int)floorf((xa - 2.0f) / block), c1 = (int)floorf((xb + 2.0f) / block);
        int q0 = (int)floorf((ya - 2.0f) / block), q1 = (int)floorf((yb + 2.0f) / block);
        if (c1 < 0 || q1 < 0 || c0 >= bx || q0 >= by) {
            seen[j] = 0;
            continue;
        }
        c0 = c0 < 0 ? 0 : c0;
        q0 = q0 < 0 ? 0 : q0;
        c1 = (c1 > bx - 1 ? bx - 1 : c1) + 1;
        q1 = (q1 > by - 1 ? by - 1 : q1) + 1;
        int32_t count = sat[(size_t)q1 * (bx + 1) + c1] - sat[(size_t)q0 * (bx + 1) + c1] -
                        sat[(size_t)q1 * (bx + 1) + c0] + sat[(size_t)q0 * (bx + 1) + c0];
        seen[j] = count > 0;
    }
}

/* dst = value + dst * (255 - alpha) / 255, for premultiplied values and their alpha warped
 * through `grid` over the window (x, y, w, h): the planes' channels are the values then, last,
 * the alpha; dst[o] holds one plane per value. Cells that cannot show coverage (per `sat` of
 * blocks of `block` source pixels) are skipped. Returns the number of pixels blended. */
#ifdef KN_X86
__attribute__((target_clones("avx2", "default")))
#endif
long kn_over(const kn_plane *src, int np, const kn_grid *grid, const int32_t *sat, int bx, int by,
             float block, int x, int y, int w, int h, uint8_t **dst, int dst_stride) {
    int channels = channels_of(src, np);
    if (channels < 2 || w > MAX_WIDTH || grid->cols > MAX_WIDTH || w < 1 || h < 1) return -1;
    sample_fn sample = pick_sampler();
    float ur[MAX_WIDTH], vr[MAX_WIDTH];
    uint8_t buf[MAX_CHANNELS][MAX_WIDTH];
    uint8_t *bufs[MAX_CHANNELS];
    uint8_t seen[MAX_WIDTH];
    for (int o = 0; o < channels; o++) bufs[o] = buf[o];
    kn_cells cells;
    split_cells(grid, x, x + w, &cells);
    int band = -1;
    long blended = 0;
    for (int r = 0; r < h; r++) {
        float ty;
        int i = node_row(grid, y + r, &ty);
        if (i != band) {
            seen_cells(grid, i, sat, bx, by, block, seen);
            band = i;
        }
        for (int k = 0; k < cells.n;) {
            if (!seen[cells.first + k]) {
                k++;
                continue;
            }
            int k1 = k + 1;
            while (k1 < cells.n && seen[cells.first + k1]) k1++;
            int px = cells.start[k], n = cells.start[k1] - px;
            row_coords(grid, y + r, &cells, k, k1, ur, vr);
            sample(src, np, ur, vr, n, bufs);
            const uint8_t *a = buf[channels - 1];
            for (int o = 0; o + 1 < channels; o++) {
                uint8_t *d = dst[o] + (ptrdiff_t)r * dst_stride + (px - x);
                const uint8_t *f = buf[o];
                for (int q = 0; q < n; q++) {
                    int v = d[q] * (255 - a[q]) + 128;
                    v = f[q] + ((v + (v >> 8)) >> 8);
                    d[q] = (uint8_t)(v > 255 ? 255 : v);
                }
            }
            blended += n;
            k = k1;
        }
    }
    return blended;
}
