/* core/fftw_lock.c — FFTW's planner lock (core/internal.h): the one lock around a library that is
   itself process-global, shared by every part that plans FFTs (synth, nn, deconv). */
#include <pthread.h>

#include "core/internal.h"

static pthread_mutex_t fftw_planner_mutex = PTHREAD_MUTEX_INITIALIZER;

void ub__fftw_lock(void) { pthread_mutex_lock(&fftw_planner_mutex); }
void ub__fftw_unlock(void) { pthread_mutex_unlock(&fftw_planner_mutex); }
