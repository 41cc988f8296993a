/* The vDSO's tests (vdso.c). */
#ifndef VDSO_TESTS_H
#define VDSO_TESTS_H

void vdso_mapped_as_auxv_and_maps_say(void);
void vdso_functions_answer_as_the_system_calls(void);
void clock_gettime_goes_through_the_vdso(void);

#endif
