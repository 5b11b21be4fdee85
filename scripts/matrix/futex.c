// Four threads contending for one lock, each holding it for a millisecond
// 50 times: futex waits with a known pid, for the corpus's futex workload
// in kernel-matrix guests (the host's runs the same in Python).
#include <pthread.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *contend(void *unused)
{
	struct timespec ms = { 0, 1000000 };

	(void)unused;
	for (int i = 0; i < 50; i++) {
		pthread_mutex_lock(&lock);
		nanosleep(&ms, NULL);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int main(void)
{
	pthread_t threads[4];

	for (int i = 0; i < 4; i++)
		pthread_create(&threads[i], NULL, contend, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	return 0;
}
